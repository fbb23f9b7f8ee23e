#!/usr/bin/python3
# write-dicom-fixture.py — a small multi-frame CT-like DICOM file for test-dicom-viewer
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: write-dicom-fixture.py OUT.dcm
# 5 frames of 96x80 unsigned 16-bit (12 stored bits), Rescale Intercept -1024:
# stored value of frame k at (x, y) = 500 + 200 k + (7 x + 3 y) % 400.
# Two windows with explanations, and made-up patient identifiers that the
# viewer must never show or log.
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

FRAMES, ROWS, COLS = 5, 80, 96

def main(out):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Roe^Secretia"
    ds.PatientID = "SECRET-ID-4711"
    ds.PatientBirthDate = "19450101"
    ds.AccessionNumber = "ACC-SECRET-99"
    ds.InstitutionName = "Secretville Clinic"
    ds.ReferringPhysicianName = "Referrer^Secretus"
    ds.Modality = "CT"
    ds.BodyPartExamined = "CHEST"
    ds.StudyDate = "20240131"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.NumberOfFrames = FRAMES
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [0.7, 0.7]
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.WindowCenter = [40, -600]
    ds.WindowWidth = [400, 1500]
    ds.WindowCenterWidthExplanation = ["SOFT TISSUE", "LUNG"]
    y, x = np.mgrid[0:ROWS, 0:COLS]
    frames = [500 + 200 * k + (7 * x + 3 * y) % 400 for k in range(FRAMES)]
    ds.PixelData = np.stack(frames).astype("<u2").tobytes()
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    pydicom.dcmwrite(out, ds, write_like_original=False)

if __name__ == "__main__":
    main(sys.argv[1])
