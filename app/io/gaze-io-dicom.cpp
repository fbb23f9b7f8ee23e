/* gaze-io-dicom.cpp — reading one frame of a DICOM file with GDCM
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The only C++ file of Gaze: everything GDCM stays in here, behind the C API
 * of gaze-io-dicom.h. Window/level math is in gaze-io-window.c.
 */
#include "gaze-io-dicom.h"
#include "gaze-io-dicom-isolate.h" /* GDCM in a child process: an abort is an error */
#include "gaze-io-dicom-scan.h" /* hostile input: walked before GDCM reads it */

#include <cmath>
#include <cstring>
#include <sstream>

#include <glib/gstdio.h>
#include <string>
#include <vector>

#include <gdcmAttribute.h>
#include <gdcmDataSet.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmPhotometricInterpretation.h>
#include <gdcmPixelFormat.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>
#include <gdcmUIDs.h>

namespace
{

/* The transfer syntaxes Gaze decodes (issue 14). */
const char *const supported_ts[] = {
  "1.2.840.10008.1.2", /* implicit VR little endian */
  "1.2.840.10008.1.2.1", /* explicit VR little endian */
  "1.2.840.10008.1.2.2", /* explicit VR big endian */
  "1.2.840.10008.1.2.1.99", /* deflated explicit VR little endian */
  "1.2.840.10008.1.2.5", /* RLE lossless */
  "1.2.840.10008.1.2.4.50", /* JPEG baseline */
  "1.2.840.10008.1.2.4.51", /* JPEG extended */
  "1.2.840.10008.1.2.4.57", /* JPEG lossless */
  "1.2.840.10008.1.2.4.70", /* JPEG lossless, first-order prediction */
  "1.2.840.10008.1.2.4.80", /* JPEG-LS lossless */
  "1.2.840.10008.1.2.4.81", /* JPEG-LS near-lossless */
  "1.2.840.10008.1.2.4.90", /* JPEG 2000 lossless */
  "1.2.840.10008.1.2.4.91", /* JPEG 2000 */
};

std::string
trim (std::string s)
{
  while (!s.empty () && (s.back () == ' ' || s.back () == '\0'))
    s.pop_back ();
  size_t i = 0;
  while (i < s.size () && s[i] == ' ')
    i++;
  return s.substr (i);
}

/* The raw value of a string attribute, or "" (bounded: never a huge copy). */
std::string
get_string (const gdcm::DataSet &ds, const gdcm::Tag &tag)
{
  if (!ds.FindDataElement (tag))
    return "";
  const gdcm::DataElement &de = ds.GetDataElement (tag);
  const gdcm::ByteValue *bv = de.GetByteValue ();
  if (bv == NULL || bv->GetPointer () == NULL)
    return "";
  gdcm::VL len = bv->GetLength ();
  if (len > 1024)
    len = 1024;
  return trim (std::string (bv->GetPointer (), len));
}

/* The numbers of a DS/IS attribute (backslash separated). */
std::vector<double>
get_numbers (const gdcm::DataSet &ds, const gdcm::Tag &tag)
{
  std::vector<double> out;
  std::string s = get_string (ds, tag);
  size_t start = 0;
  while (start <= s.size () && !s.empty ())
    {
      size_t end = s.find ('\\', start);
      std::string part
          = trim (s.substr (start, end == std::string::npos ? std::string::npos : end - start));
      char *stop = NULL;
      double v = g_ascii_strtod (part.c_str (), &stop);
      if (!part.empty () && stop != NULL && *stop == '\0' && std::isfinite (v))
        out.push_back (v);
      else
        out.push_back (NAN);
      if (end == std::string::npos)
        break;
      start = end + 1;
    }
  return out;
}

char *
dup_or_null (const std::string &s)
{
  return s.empty () ? NULL : g_strdup (s.c_str ());
}

/* A LUT from a Modality or VOI LUT Sequence item: descriptor (entries, first
 * mapped, bits) and 16-bit data. */
struct Lut
{
  int first = 0;
  int bits = 16;
  std::vector<guint16> entries;
};

bool
read_lut (const gdcm::Item &item, gboolean big_endian, Lut *lut)
{
  const gdcm::DataSet &ds = item.GetNestedDataSet ();
  const gdcm::Tag desc_tag (0x0028, 0x3002), data_tag (0x0028, 0x3006);
  if (!ds.FindDataElement (desc_tag) || !ds.FindDataElement (data_tag))
    return false;
  const gdcm::ByteValue *desc = ds.GetDataElement (desc_tag).GetByteValue ();
  const gdcm::ByteValue *data = ds.GetDataElement (data_tag).GetByteValue ();
  if (desc == NULL || data == NULL || desc->GetLength () != 6)
    return false;
  const guint8 *d = (const guint8 *) desc->GetPointer ();
  auto word = [big_endian] (const guint8 *p) {
    return (guint16) (big_endian ? (p[0] << 8) | p[1] : p[0] | (p[1] << 8));
  };
  size_t n = word (d) == 0 ? 65536 : word (d);
  /* First mapped is US or SS: values above 32767 only make sense as signed
   * when the pixels are, which a LUT descriptor cannot say; follow PS3.3:
   * the VR of the descriptor's second value matches Pixel Representation. */
  lut->first = (gint16) word (d + 2);
  lut->bits = word (d + 4);
  if (lut->bits < 1 || lut->bits > 16)
    return false;
  const guint8 *p = (const guint8 *) data->GetPointer ();
  size_t len = data->GetLength ();
  if (len >= n * 2)
    {
      lut->entries.resize (n);
      for (size_t i = 0; i < n; i++)
        lut->entries[i] = word (p + 2 * i);
    }
  else if (len >= n && lut->bits <= 8)
    {
      lut->entries.assign (p, p + n);
    }
  else
    return false;
  return true;
}

bool
first_lut (const gdcm::DataSet &ds, const gdcm::Tag &seq_tag, gboolean big_endian, Lut *lut)
{
  if (!ds.FindDataElement (seq_tag))
    return false;
  gdcm::SmartPointer<gdcm::SequenceOfItems> sq = ds.GetDataElement (seq_tag).GetValueAsSQ ();
  if (!sq || sq->GetNumberOfItems () < 1)
    return false;
  return read_lut (sq->GetItem (1), big_endian, lut);
}

gint64
default_max_pixels (void)
{
  GzLimits limits;
  gz_limits_default (&limits);
  return limits.max_image_pixels > 0 ? limits.max_image_pixels : 100000000;
}

/* The decoded whole image is held in memory at once by GDCM: refuse files
 * whose decoded size is beyond this. */
const guint64 max_decoded_bytes = G_GUINT64_CONSTANT (1) << 31;

void
ybr_full_to_rgb (float *v, size_t n)
{
  for (size_t i = 0; i < n; i++, v += 3)
    {
      double y = v[0], cb = v[1] - 128.0, cr = v[2] - 128.0;
      double rgb[3] = { y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb };
      for (int c = 0; c < 3; c++)
        v[c] = (float) std::round (std::fmin (255.0, std::fmax (0.0, rgb[c])));
    }
}

/* GDCM writes its warnings and errors to stderr; Gaze reports through GError. */
void
quiet_gdcm (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      gdcm::Trace::SetDebug (false);
      gdcm::Trace::SetWarning (false);
      gdcm::Trace::SetError (false);
      g_once_init_leave (&once, 1);
    }
}

/* Where the bytes come from: a path, or memory. Each pass gets its own stream. */
struct Input
{
  const char *path = NULL;
  const guint8 *data = NULL;
  gsize len = 0;
  std::istringstream stream;

  void attach (gdcm::Reader &reader)
  {
    if (path != NULL)
      reader.SetFileName (path);
    else
      {
        stream.str (std::string ((const char *) data, len));
        stream.clear ();
        reader.SetStream (stream);
      }
  }

  /* How many bytes of the pixel data value (declared length vl) the input
   * really holds: the last Pixel Data element header with that length is
   * looked up in the raw bytes. G_MAXUINT64 when it cannot be told. */
  guint64 pixel_bytes_present (bool big_endian, bool explicit_vr, guint32 vl)
  {
    g_autoptr (GMappedFile) map = NULL;
    const guint8 *p = data;
    gsize n = len;
    if (path != NULL)
      {
        map = g_mapped_file_new (path, FALSE, NULL);
        if (map == NULL)
          return G_MAXUINT64;
        p = (const guint8 *) g_mapped_file_get_contents (map);
        n = g_mapped_file_get_length (map);
      }
    const guint8 tag[4]
        = { (guint8) (big_endian ? 0x7f : 0xe0), (guint8) (big_endian ? 0xe0 : 0x7f),
            (guint8) (big_endian ? 0x00 : 0x10), (guint8) (big_endian ? 0x10 : 0x00) };
    gsize header = explicit_vr ? 12 : 8;
    for (gsize i = n >= header ? n - header + 1 : 0; i-- > 0;)
      {
        if (memcmp (p + i, tag, 4) != 0)
          continue;
        const guint8 *l = p + i + (explicit_vr ? 8 : 4);
        if (explicit_vr && (p[i + 6] != 0 || p[i + 7] != 0 || p[i + 4] < 'A' || p[i + 5] < 'A'))
          continue;
        guint32 got = big_endian
            ? (guint32) l[0] << 24 | (guint32) l[1] << 16 | (guint32) l[2] << 8 | l[3]
            : (guint32) l[3] << 24 | (guint32) l[2] << 16 | (guint32) l[1] << 8 | l[0];
        if (got != vl)
          continue;
        return n - (i + header);
      }
    return G_MAXUINT64;
  }
};

/* The header up to the pixel data, read before GDCM's image reader: checks
 * what would make that reader assert. */
bool
pre_check (Input &in, const char *what, GError **error)
{
  gdcm::Reader pre;
  in.attach (pre);
  if (!pre.ReadUpToTag (gdcm::Tag (0x7fe0, 0x0010)))
    return true; /* the main pass reports */
  const gdcm::DataSet &ds = pre.GetFile ().GetDataSet ();
  if (ds.FindDataElement (gdcm::Tag (0x0028, 0x0009))
      && !ds.FindDataElement (gdcm::Tag (0x0028, 0x0008)))
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                   "%s: malformed DICOM: Frame Increment Pointer without Number of Frames", what);
      return false;
    }
  /* GDCM's image reader asserts that a Recognition Code names ACR-NEMA. */
  const gdcm::Tag recognition (0x0008, 0x0010);
  if (ds.FindDataElement (recognition) && !ds.GetDataElement (recognition).IsEmpty ())
    {
      const gdcm::ByteValue *bv = ds.GetDataElement (recognition).GetByteValue ();
      std::string code = bv != NULL ? std::string (bv->GetPointer (), bv->GetLength ()) : "";
      if (code.rfind ("ACR-NEMA", 0) != 0 && code.rfind ("ACRNEMA", 0) != 0)
        {
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                       "%s: malformed DICOM: a Recognition Code (0008,0010) that is not ACR-NEMA",
                       what);
          return false;
        }
    }
  /* PixelFormat::SetSamplesPerPixel asserts on anything but 1, 3 or 4. */
  const gdcm::Tag spp_tag (0x0028, 0x0002);
  if (ds.FindDataElement (spp_tag) && !ds.GetDataElement (spp_tag).IsEmpty ())
    {
      const gdcm::ByteValue *bv = ds.GetDataElement (spp_tag).GetByteValue ();
      if (bv == NULL || bv->GetLength () != 2)
        {
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                       "%s: malformed DICOM: Samples per Pixel is not one 16-bit value", what);
          return false;
        }
      gdcm::Attribute<0x0028, 0x0002> spp;
      spp.SetFromDataElement (ds.GetDataElement (spp_tag));
      unsigned v = spp.GetValue ();
      if (v != 1 && v != 3 && v != 4)
        {
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                       "%s: malformed DICOM: %u samples per pixel (1, 3 or 4)", what, v);
          return false;
        }
    }
  return true;
}

GazeIoDicom *
load (Input &in, const char *what, int frame, gint64 max_pixels, GError **error)
{
  if (max_pixels <= 0)
    max_pixels = default_max_pixels ();
  quiet_gdcm ();
  /* Debian's GDCM asserts (aborts) on lengths past the end, wrong VRs, bad
   * palettes, and recurses without bound: a bounds-checked walk goes first. */
  {
    g_autoptr (GMappedFile) map = NULL;
    const guint8 *bytes = in.data;
    gsize n = in.len;
    if (in.path != NULL)
      {
        map = g_mapped_file_new (in.path, FALSE, NULL);
        bytes = map != NULL ? (const guint8 *) g_mapped_file_get_contents (map) : NULL;
        n = map != NULL ? g_mapped_file_get_length (map) : 0;
      }
    if (bytes != NULL && !gaze_io_dicom_scan (bytes, n, what, error))
      return NULL;
  }
  if (!pre_check (in, what, error))
    return NULL;
  gdcm::ImageReader reader;
  in.attach (reader);
  bool read_ok = reader.Read ();
  const gdcm::File &file = reader.GetFile ();
  const gdcm::DataSet &ds = file.GetDataSet ();
  const gdcm::Tag pixel_tag (0x7fe0, 0x0010);
  if (!read_ok)
    {
      /* A header that parsed up to the pixel data, then an early end:
       * damaged, as a cut-short JPEG or PNG. */
      if (ds.FindDataElement (gdcm::Tag (0x0028, 0x0010))
          && ds.FindDataElement (gdcm::Tag (0x0028, 0x0011)))
        g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_DAMAGED,
                     "%s: the DICOM file is damaged (its pixel data is shorter than declared, "
                     "or its pixel attributes are unreadable)",
                     what);
      else
        g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_NOT_IMAGE,
                     "%s: not a DICOM image GDCM can read", what);
      return NULL;
    }

  std::string ts_uid = trim (file.GetHeader ().FindDataElement (gdcm::Tag (0x0002, 0x0010))
                                 ? get_string (file.GetHeader (), gdcm::Tag (0x0002, 0x0010))
                                 : std::string (""));
  const gdcm::TransferSyntax &ts = file.GetHeader ().GetDataSetTransferSyntax ();
  if (ts_uid.empty ())
    ts_uid = ts.GetString () != NULL ? ts.GetString () : "";
  gdcm::UIDs uid;
  std::string ts_name = uid.SetFromUID (ts_uid.c_str ()) && uid.GetName () != NULL
      ? uid.GetName ()
      : "unknown transfer syntax";
  bool supported = false;
  for (const char *s : supported_ts)
    supported = supported || ts_uid == s;
  if (!supported)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                   "%s: unsupported DICOM transfer syntax %s (%s)", what, ts_uid.c_str (),
                   ts_name.c_str ());
      return NULL;
    }
  if (!ds.FindDataElement (pixel_tag))
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_NOT_IMAGE,
                   "%s: a DICOM file without pixel data", what);
      return NULL;
    }

  const gdcm::Image &img = reader.GetImage ();
  const unsigned int *dims = img.GetDimensions ();
  unsigned int ndim = img.GetNumberOfDimensions ();
  gint64 cols = dims[0], rows = dims[1];
  gint64 frames = ndim > 2 ? dims[2] : 1;
  if (cols <= 0 || rows <= 0 || frames <= 0)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "%s: no rows or columns", what);
      return NULL;
    }
  if (cols > max_pixels / rows)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE,
                   "%s: too large: %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   " exceeds the image-pixels limit of %" G_GINT64_FORMAT " pixels",
                   what, cols, rows, max_pixels);
      return NULL;
    }
  if (frame < 0)
    frame = (int) ((frames - 1) / 2);
  if (frame >= frames)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                   "%s: no frame %d (the file has %" G_GINT64_FORMAT ")", what, frame, frames);
      return NULL;
    }

  const gdcm::PixelFormat &pf = img.GetPixelFormat ();
  int spp = pf.GetSamplesPerPixel ();
  int bits_alloc = pf.GetBitsAllocated ();
  int bits_stored = pf.GetBitsStored ();
  int high_bit = pf.GetHighBit ();
  bool is_signed = pf.GetPixelRepresentation () == 1;
  if ((spp != 1 && spp != 3) || (bits_alloc != 8 && bits_alloc != 16 && bits_alloc != 32)
      || bits_stored < 1 || bits_stored > bits_alloc || high_bit < bits_stored - 1
      || high_bit >= bits_alloc)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                   "%s: unsupported pixel format (%d samples, %d bits allocated, %d stored, "
                   "high bit %d)",
                   what, spp, bits_alloc, bits_stored, high_bit);
      return NULL;
    }
  /* GDCM 3.0 hands back multi-byte colour RLE with its byte segments in an
   * order that does not match Planar Configuration: refused rather than
   * shown wrong. */
  if (spp == 3 && bits_alloc > 8 && ts_uid == "1.2.840.10008.1.2.5")
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                   "%s: unsupported: %d-bit colour in RLE Lossless (1.2.840.10008.1.2.5)", what,
                   bits_alloc);
      return NULL;
    }
  gdcm::PhotometricInterpretation pi = img.GetPhotometricInterpretation ();
  std::string photometric = pi.GetString () != NULL ? trim (pi.GetString ()) : "";
  bool palette = pi == gdcm::PhotometricInterpretation::PALETTE_COLOR;
  if (spp == 1 && !palette && pi != gdcm::PhotometricInterpretation::MONOCHROME1
      && pi != gdcm::PhotometricInterpretation::MONOCHROME2)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                   "%s: photometric interpretation %s with one sample per pixel", what,
                   photometric.c_str ());
      return NULL;
    }

  gsize frame_samples = (gsize) cols * rows * spp;
  guint64 frame_bytes = (guint64) frame_samples * (bits_alloc / 8);
  guint64 total = img.GetBufferLength ();
  if (total > max_decoded_bytes || total < frame_bytes * (guint64) frames)
    {
      if (total > max_decoded_bytes)
        g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE,
                     "%s: too large: %" G_GINT64_FORMAT " frames of %" G_GINT64_FORMAT
                     "×%" G_GINT64_FORMAT " need %" G_GUINT64_FORMAT " bytes decoded",
                     what, frames, cols, rows, total);
      else
        g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                     "%s: inconsistent pixel attributes", what);
      return NULL;
    }
  /* Uncompressed pixel data shorter than its attributes declare, or than its
   * own length says (GDCM keeps the declared length of a cut-short file). */
  bool ybr422 = pi == gdcm::PhotometricInterpretation::YBR_FULL_422 && !ts.IsEncapsulated ();
  if (ybr422)
    total = total / 3 * 2;
  if (!ts.IsEncapsulated ())
    {
      const gdcm::ByteValue *bv = ds.GetDataElement (pixel_tag).GetByteValue ();
      guint64 have = bv != NULL ? (guint64) bv->GetLength () : 0;
      if (ts_uid != "1.2.840.10008.1.2.1.99")
        {
          guint64 in_input
              = in.pixel_bytes_present (ts.GetSwapCode () == gdcm::SwapCode::BigEndian,
                                        ts.GetNegociatedType () != gdcm::TransferSyntax::Implicit,
                                        (guint32) ds.GetDataElement (pixel_tag).GetVL ());
          if (in_input < have)
            have = in_input;
        }
      if (have < total)
        {
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_DAMAGED,
                       "%s: the DICOM file is damaged (pixel data has %" G_GUINT64_FORMAT
                       " of its %" G_GUINT64_FORMAT " bytes)",
                       what, have, total);
          return NULL;
        }
    }
  std::vector<char> buf;
  try
    {
      buf.resize (total);
    }
  catch (const std::bad_alloc &)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE,
                   "%s: not enough memory to decode %" G_GUINT64_FORMAT " bytes", what, total);
      return NULL;
    }
  if (ybr422)
    {
      /* Y1 Y2 Cb Cr for each pair of pixels, expanded to YBR_FULL. */
      const gdcm::ByteValue *bv = ds.GetDataElement (pixel_tag).GetByteValue ();
      const guint8 *p = (const guint8 *) bv->GetPointer ();
      guint64 pairs = total / 4;
      buf.resize (pairs * 6);
      for (guint64 i = 0; i < pairs; i++, p += 4)
        {
          char *d = buf.data () + 6 * i;
          d[0] = (char) p[0], d[1] = (char) p[2], d[2] = (char) p[3];
          d[3] = (char) p[1], d[4] = (char) p[2], d[5] = (char) p[3];
        }
    }
  else if (!img.GetBuffer (buf.data ()))
    {
      g_set_error (error, GAZE_IO_ERROR,
                   ts.IsEncapsulated () ? GAZE_IO_ERROR_DAMAGED : GAZE_IO_ERROR_CORRUPT,
                   "%s: cannot decode the %s pixel data", what, ts_name.c_str ());
      return NULL;
    }

  g_autoptr (GazeIoDicom) dicom = g_new0 (GazeIoDicom, 1);
  dicom->frame = frame;
  dicom->width = (int) cols;
  dicom->height = (int) rows;
  dicom->values = (float *) g_try_malloc (frame_samples * sizeof (float) * (palette ? 3 : 1));
  if (dicom->values == NULL)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE,
                   "%s: not enough memory for a %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " frame",
                   what, cols, rows);
      return NULL;
    }
  /* Stored values: bits stored at high_bit, sign-extended when signed. */
  const char *src = buf.data () + frame_bytes * (guint64) frame;
  bool swap_halves = bits_alloc == 32 && ts.GetSwapCode () == gdcm::SwapCode::BigEndian;
  int shift = high_bit + 1 - bits_stored;
  guint32 mask = bits_stored == 32 ? 0xffffffffu : (1u << bits_stored) - 1u;
  std::vector<double> stored (frame_samples);
  for (gsize i = 0; i < frame_samples; i++)
    {
      guint32 raw;
      if (bits_alloc == 8)
        raw = (guint8) src[i];
      else if (bits_alloc == 16)
        {
          guint16 w;
          memcpy (&w, src + 2 * i, 2);
          raw = w;
        }
      else
        {
          memcpy (&raw, src + 4 * i, 4);
          /* GDCM 3.0 byte-swaps big-endian pixel data as 16-bit words: the
           * halves of a 32-bit value come back exchanged. */
          if (swap_halves)
            raw = (raw >> 16) | (raw << 16);
        }
      raw = (raw >> shift) & mask;
      if (is_signed && bits_stored < 32 && (raw & (1u << (bits_stored - 1))))
        stored[i] = (double) raw - (double) (1ull << bits_stored);
      else if (is_signed && bits_stored == 32)
        stored[i] = (double) (gint32) raw;
      else
        stored[i] = raw;
    }
  /* Planar configuration 1 (RRR..GGG..BBB..) to interleaved. GDCM hands
   * decoded RLE and JPEG frames back as they are declared. */
  if (spp == 3 && img.GetPlanarConfiguration () == 1)
    {
      std::vector<double> inter (frame_samples);
      gsize plane = (gsize) cols * rows;
      for (gsize i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++)
          inter[3 * i + c] = stored[c * plane + i];
      stored.swap (inter);
    }

  gboolean big_endian = ts.GetSwapCode () == gdcm::SwapCode::BigEndian;
  if (palette)
    {
      /* PALETTE COLOR: the red, green and blue LUTs (descriptor + data). */
      const gdcm::LookupTable &lut = img.GetLUT ();
      int lut_bits = lut.GetBitSample ();
      gsize need = frame_samples * 3 * (lut_bits == 16 ? 2 : 1);
      std::vector<char> out (need);
      if (!lut.Decode (out.data (), need, src, (size_t) frame_bytes))
        {
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "%s: cannot apply the palette",
                       what);
          return NULL;
        }
      for (gsize i = 0; i < frame_samples * 3; i++)
        {
          if (lut_bits == 16)
            {
              guint16 w;
              memcpy (&w, out.data () + 2 * i, 2);
              dicom->values[i] = w;
            }
          else
            dicom->values[i] = (guint8) out[i];
        }
      dicom->channels = 3;
    }
  else if (spp == 3)
    {
      for (gsize i = 0; i < frame_samples; i++)
        dicom->values[i] = (float) stored[i];
      dicom->channels = 3;
      if (bits_alloc == 8
          && (pi == gdcm::PhotometricInterpretation::YBR_FULL
              || pi == gdcm::PhotometricInterpretation::YBR_FULL_422))
        ybr_full_to_rgb (dicom->values, frame_samples / 3);
    }
  else
    {
      /* Modality LUT: a Modality LUT Sequence, else Rescale Slope/Intercept. */
      Lut mlut;
      if (first_lut (ds, gdcm::Tag (0x0028, 0x3000), big_endian, &mlut))
        {
          for (gsize i = 0; i < frame_samples; i++)
            {
              double k = stored[i] - mlut.first;
              size_t j = k <= 0               ? 0
                  : k >= mlut.entries.size () ? mlut.entries.size () - 1
                                              : (size_t) k;
              dicom->values[i] = mlut.entries[j];
            }
        }
      else
        {
          /* PS3.3: Rescale Slope/Intercept; in enhanced multi-frame files
           * they sit in the functional groups, where GDCM finds them. (GDCM
           * also puts an RT Dose Grid Scaling there, which is not a Modality
           * LUT: other files keep 1 and 0 unless they have the attributes.) */
          bool functional = ds.FindDataElement (gdcm::Tag (0x5200, 0x9229))
              || ds.FindDataElement (gdcm::Tag (0x5200, 0x9230));
          double slope = functional ? img.GetSlope () : 1.0;
          double intercept = functional ? img.GetIntercept () : 0.0;
          std::vector<double> s = get_numbers (ds, gdcm::Tag (0x0028, 0x1053));
          std::vector<double> b = get_numbers (ds, gdcm::Tag (0x0028, 0x1052));
          if (s.size () == 1 && std::isfinite (s[0]))
            slope = s[0];
          if (b.size () == 1 && std::isfinite (b[0]))
            intercept = b[0];
          if (!std::isfinite (slope) || !std::isfinite (intercept))
            slope = 1.0, intercept = 0.0;
          for (gsize i = 0; i < frame_samples; i++)
            dicom->values[i] = (float) (stored[i] * slope + intercept);
        }
      dicom->channels = 1;
      dicom->monochrome1 = pi == gdcm::PhotometricInterpretation::MONOCHROME1;
    }
  gaze_io_window_range (dicom->values, (gsize) cols * rows * dicom->channels, &dicom->min,
                        &dicom->max);

  /* Metadata. The identifiers go to their own array, for the viewer only. */
  GazeIoDicomMeta *m = &dicom->meta;
  static const gdcm::Tag identifier_tags[GAZE_IO_DICOM_N_IDENTIFIERS] = {
    gdcm::Tag (0x0010, 0x0010), gdcm::Tag (0x0010, 0x0020), gdcm::Tag (0x0010, 0x0030),
    gdcm::Tag (0x0008, 0x0050), gdcm::Tag (0x0008, 0x0080), gdcm::Tag (0x0008, 0x0090),
  };
  for (int i = 0; i < GAZE_IO_DICOM_N_IDENTIFIERS; i++)
    m->identifiers[i] = dup_or_null (get_string (ds, identifier_tags[i]));
  m->modality = dup_or_null (get_string (ds, gdcm::Tag (0x0008, 0x0060)));
  m->body_part = dup_or_null (get_string (ds, gdcm::Tag (0x0018, 0x0015)));
  m->study_date = dup_or_null (get_string (ds, gdcm::Tag (0x0008, 0x0020)));
  m->photometric = dup_or_null (photometric);
  m->transfer_syntax_uid = g_strdup (ts_uid.c_str ());
  m->transfer_syntax_name = g_strdup (ts_name.c_str ());
  m->rows = (int) rows;
  m->columns = (int) cols;
  m->frames = (int) frames;
  std::vector<double> sp = get_numbers (ds, gdcm::Tag (0x0028, 0x0030));
  if (sp.size () != 2 || !(sp[0] > 0) || !(sp[1] > 0))
    {
      sp = get_numbers (ds, gdcm::Tag (0x0018, 0x1164));
      m->spacing_is_imager = sp.size () == 2 && sp[0] > 0 && sp[1] > 0;
    }
  if (sp.size () == 2 && sp[0] > 0 && sp[1] > 0)
    {
      m->pixel_spacing[0] = sp[0];
      m->pixel_spacing[1] = sp[1];
    }
  if (dicom->channels == 1)
    {
      std::vector<double> c = get_numbers (ds, gdcm::Tag (0x0028, 0x1050));
      std::vector<double> w = get_numbers (ds, gdcm::Tag (0x0028, 0x1051));
      GazeIoVoiFunction fn = GAZE_IO_VOI_LINEAR;
      std::string fname = get_string (ds, gdcm::Tag (0x0028, 0x1056));
      if (!fname.empty ())
        gaze_io_voi_function_parse (fname.c_str (), &fn);
      size_t n = MIN (c.size (), w.size ());
      if (n > 64)
        n = 64;
      m->presets = g_new0 (GazeIoWindow, n + 1);
      for (size_t i = 0; i < n; i++)
        {
          GazeIoWindow win = { c[i], w[i], fn };
          if (gaze_io_window_valid (&win))
            m->presets[m->n_presets++] = win;
        }
      Lut vlut;
      if (first_lut (ds, gdcm::Tag (0x0028, 0x3010), big_endian, &vlut))
        {
          dicom->voi_lut = g_new (guint16, vlut.entries.size ());
          memcpy (dicom->voi_lut, vlut.entries.data (), vlut.entries.size () * sizeof (guint16));
          dicom->voi_lut_desc.first = vlut.first;
          dicom->voi_lut_desc.bits = vlut.bits;
          dicom->voi_lut_desc.n_entries = vlut.entries.size ();
          dicom->voi_lut_desc.entries = dicom->voi_lut;
        }
    }
  dicom->window
      = m->n_presets > 0 ? m->presets[0] : gaze_io_window_from_range (dicom->min, dicom->max);
  return (GazeIoDicom *) g_steal_pointer (&dicom);
}

} // namespace

/* The C API (declared extern "C" by gaze-io-dicom.h). */

gboolean
gaze_io_dicom_sniff (const guint8 *data, gsize len)
{
  return len >= 132 && memcmp (data + 128, "DICM", 4) == 0;
}

namespace
{
struct DecodeArgs
{
  Input in;
  const char *what;
  int frame;
  gint64 max_pixels;
};

/* Runs in the child process (gaze-io-dicom-isolate.c). */
GazeIoDicom *
decode (gpointer data, GError **error)
{
  DecodeArgs *a = static_cast<DecodeArgs *> (data);
  try
    {
      return load (a->in, a->what, a->frame, a->max_pixels, error);
    }
  catch (const std::exception &e)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "%s: cannot read DICOM: %s",
                   a->what, e.what ());
      return NULL;
    }
}
} // namespace

GazeIoDicom *
gaze_io_dicom_load (const char *path, int frame, gint64 max_pixels, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  DecodeArgs a;
  a.in.path = path;
  a.what = path;
  a.frame = frame;
  a.max_pixels = max_pixels;
  return gaze_io_dicom_isolate (decode, &a, path, error);
}

GazeIoDicom *
gaze_io_dicom_load_bytes (const guint8 *data, gsize len, int frame, gint64 max_pixels,
                          GError **error)
{
  DecodeArgs a;
  a.in.data = data;
  a.in.len = len;
  a.what = "DICOM data";
  a.frame = frame;
  a.max_pixels = max_pixels;
  return gaze_io_dicom_isolate (decode, &a, "DICOM data", error);
}

void
gaze_io_dicom_free (GazeIoDicom *dicom)
{
  if (dicom == NULL)
    return;
  g_free (dicom->meta.modality);
  g_free (dicom->meta.body_part);
  g_free (dicom->meta.study_date);
  g_free (dicom->meta.photometric);
  g_free (dicom->meta.transfer_syntax_uid);
  g_free (dicom->meta.transfer_syntax_name);
  g_free (dicom->meta.presets);
  for (int i = 0; i < GAZE_IO_DICOM_N_IDENTIFIERS; i++)
    g_free (dicom->meta.identifiers[i]);
  g_free (dicom->values);
  g_free (dicom->voi_lut);
  g_free (dicom);
}

void
gaze_io_dicom_render_u8 (const GazeIoDicom *dicom, const GazeIoWindow *window, guint8 *out)
{
  gsize n = (gsize) dicom->width * dicom->height;
  if (dicom->channels == 3)
    {
      double top = dicom->max > 255.0 ? (dicom->max > 65535.0 ? 4294967295.0 : 65535.0) : 255.0;
      for (gsize i = 0; i < n * 3; i++)
        out[i] = (guint8) lrint (std::fmin (1.0, std::fmax (0.0, dicom->values[i] / top)) * 255.0);
      return;
    }
  if (window == NULL && dicom->voi_lut != NULL)
    {
      gaze_io_voi_lut_apply_u8 (&dicom->voi_lut_desc, dicom->monochrome1, dicom->values, n, out);
      return;
    }
  gaze_io_window_apply_u8 (window != NULL ? window : &dicom->window, dicom->monochrome1,
                           dicom->values, n, out);
}

GazeIoImage *
gaze_io_dicom_to_image (const GazeIoDicom *dicom, const GazeIoWindow *window)
{
  gsize n = (gsize) dicom->width * dicom->height;
  GazeIoImage *img = g_new0 (GazeIoImage, 1);
  img->pixels = (guint8 *) g_malloc (n * 3);
  if (dicom->channels == 3)
    gaze_io_dicom_render_u8 (dicom, window, img->pixels);
  else
    {
      g_autofree guint8 *gray = (guint8 *) g_malloc (n);
      gaze_io_dicom_render_u8 (dicom, window, gray);
      for (gsize i = 0; i < n; i++)
        img->pixels[3 * i] = img->pixels[3 * i + 1] = img->pixels[3 * i + 2] = gray[i];
    }
  gboolean gray = TRUE;
  for (gsize i = 0; i < n && gray; i++)
    gray = img->pixels[3 * i] == img->pixels[3 * i + 1]
        && img->pixels[3 * i + 1] == img->pixels[3 * i + 2];
  img->image.width = dicom->width;
  img->image.height = dicom->height;
  img->image.channels = 3;
  img->image.stride = dicom->width * 3;
  img->image.pixels = img->pixels;
  img->is_gray = gray;
  img->format = g_strdup ("dicom");
  return img;
}
