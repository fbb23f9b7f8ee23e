#!/usr/bin/python3
# dicomwrite.py — a phantom as a real DICOM file (Digital X-Ray, pydicom)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes a phantom (tools/demo-medical/phantom.py) as a DICOM Part 10 file:
Digital X-Ray Image Storage — For Presentation, explicit VR little endian,
16 bits allocated / 12 stored, MONOCHROME2, Rescale Slope 1 / Intercept 0,
the phantom window, pixel spacing. The patient is made up (PATIENT_NAME,
PATIENT_ID, PATIENT_BIRTH_DATE, also ACCESSION_NUMBER, INSTITUTION,
REFERRING_PHYSICIAN): Gaze's privacy tests assert these never
appear in its outputs. UIDs are derived from the seed, so a rerun writes the
same file.
"""

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, generate_uid

import phantom

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
PATIENT_NAME = "DEMO^PHANTOM"
PATIENT_ID = "GZ-0001"
PATIENT_BIRTH_DATE = "19700101"
ACCESSION_NUMBER = "GZACC0001"
INSTITUTION = "Gaze Demo Hospital"
REFERRING_PHYSICIAN = "DEMO^REFERRER"
STUDY_DATE = "20260101"


def write(path, pixels, seed, description="Synthetic chest phantom"):
    """Writes `pixels` (uint16 [rows, cols], 12-bit) to `path`."""
    if pixels.dtype != np.uint16 or pixels.max() >= 1 << phantom.BITS_STORED:
        raise ValueError("pixels must be 12-bit values in a uint16 array")
    uid = lambda kind: generate_uid(entropy_srcs=["gaze-demo-medical", kind, str(seed)])  # noqa: E731

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = uid("sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = DX_FOR_PRESENTATION
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid("study")
    ds.SeriesInstanceUID = uid("series")
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = PATIENT_BIRTH_DATE
    ds.PatientSex = "O"
    ds.AccessionNumber = ACCESSION_NUMBER
    ds.InstitutionName = INSTITUTION
    ds.ReferringPhysicianName = REFERRING_PHYSICIAN
    ds.StudyDate = STUDY_DATE
    ds.SeriesDate = STUDY_DATE
    ds.ContentDate = STUDY_DATE
    ds.StudyTime = "120000"
    ds.ContentTime = "120000"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Modality = "DX"
    ds.Manufacturer = "Gaze (synthetic)"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.SeriesDescription = description
    ds.PatientOrientation = ["L", "F"]
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = phantom.BITS_STORED
    ds.HighBit = phantom.BITS_STORED - 1
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = "US"
    ds.WindowCenter = phantom.WINDOW[0]
    ds.WindowWidth = phantom.WINDOW[1]
    ds.VOILUTFunction = "LINEAR"
    ds.PixelSpacing = [phantom.PIXEL_SPACING_MM, phantom.PIXEL_SPACING_MM]
    ds.ImagerPixelSpacing = [phantom.PIXEL_SPACING_MM, phantom.PIXEL_SPACING_MM]
    ds.BurnedInAnnotation = "NO"
    ds.PixelData = np.ascontiguousarray(pixels, "<u2").tobytes()
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.save_as(path, write_like_original=False)


def read(path):
    """The stored pixels of a file written by write() (for checks)."""
    ds = pydicom.dcmread(path)
    return ds.pixel_array, ds


if __name__ == "__main__":
    import sys
    px, _, _ = phantom.make_phantom(phantom.DEMO_SEED_BASE)
    write(sys.argv[1], px, phantom.DEMO_SEED_BASE)
    back, ds = read(sys.argv[1])
    assert np.array_equal(back, px)
    print(sys.argv[1], ds.Modality, ds.Rows, ds.Columns)
