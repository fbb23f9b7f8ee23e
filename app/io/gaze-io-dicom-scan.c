/* gaze-io-dicom-scan.c — a bounds-checked walk over a DICOM file before GDCM
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-io"

#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "gaze-io-dicom-scan.h"
#include "gaze-io-image.h"

typedef struct
{
  const guint8 *data;
  gsize len;
  gboolean explicit_vr, big_endian;
  const char *what;
  GError **error;
  /* Palette colour LUTs at the top level: descriptor (entries, first, bits)
   * and data length, red/green/blue. */
  guint desc[3][3];
  gboolean has_desc[3];
  guint64 lut_len[3];
  gboolean has_lut[3], has_segments[3], segmented;
  /* Top level: Bits Allocated (0 until seen); Photometric Interpretation is
   * PALETTE COLOR. */
  guint bits_allocated;
  gboolean palette_photometric;
} Scan;

static guint
u16 (const Scan *s, gsize at)
{
  const guint8 *p = s->data + at;
  return s->big_endian ? (guint) p[0] << 8 | p[1] : (guint) p[1] << 8 | p[0];
}

static guint32
u32 (const Scan *s, gsize at)
{
  const guint8 *p = s->data + at;
  return s->big_endian ? (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3]
                       : (guint32) p[3] << 24 | (guint32) p[2] << 16 | (guint32) p[1] << 8 | p[0];
}

static gboolean fail (Scan *s, int code, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (Scan *s, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (s->error, GAZE_IO_ERROR, code, "%s: malformed DICOM: %s", s->what, msg);
  return FALSE;
}

static gboolean
is_long_vr (const guint8 *vr)
{
  static const char *const longs[]
      = { "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV" };
  for (gsize i = 0; i < G_N_ELEMENTS (longs); i++)
    if (memcmp (vr, longs[i], 2) == 0)
      return TRUE;
  return FALSE;
}

/* The two letters of a value representation GDCM knows (VR::IsValid). */
static gboolean
is_known_vr (const guint8 *vr)
{
  static const char *const known[]
      = { "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO",
          "LT", "OB", "OD", "OF", "OL", "OW", "PN", "SH", "SL", "SQ", "SS",
          "ST", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT" };
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    if (memcmp (vr, known[i], 2) == 0)
      return TRUE;
  return FALSE;
}

static gboolean walk (Scan *s, gsize *pos, gsize end, gboolean until_item_end, int depth);

/* The items of a sequence starting at *pos: up to end (defined length) or to
 * a sequence delimiter. */
static gboolean
walk_items (Scan *s, gsize *pos, gsize end, gboolean undefined, int depth, guint g, guint e)
{
  if (depth > GAZE_IO_DICOM_MAX_DEPTH)
    return fail (s, GAZE_IO_ERROR_CORRUPT, "sequences nested deeper than %d",
                 GAZE_IO_DICOM_MAX_DEPTH);
  while (undefined || *pos < end)
    {
      if (end - *pos < 8)
        return fail (s, GAZE_IO_ERROR_CORRUPT, "cut short inside the sequence (%04x,%04x)", g, e);
      guint ig = u16 (s, *pos), ie = u16 (s, *pos + 2);
      guint32 il = u32 (s, *pos + 4);
      *pos += 8;
      if (ig == 0xFFFE && ie == 0xE0DD)
        return TRUE;
      if (ig != 0xFFFE || ie != 0xE000)
        return fail (s, GAZE_IO_ERROR_CORRUPT,
                     "the sequence (%04x,%04x) holds (%04x,%04x), not an item", g, e, ig, ie);
      if (il == 0xFFFFFFFF)
        {
          if (!walk (s, pos, end, TRUE, depth + 1))
            return FALSE;
        }
      else
        {
          if (il > end - *pos)
            return fail (s, GAZE_IO_ERROR_CORRUPT, "an item of (%04x,%04x) runs past its end", g,
                         e);
          gsize item_end = *pos + il;
          if (!walk (s, pos, item_end, FALSE, depth + 1))
            return FALSE;
          *pos = item_end;
        }
    }
  return TRUE;
}

/* Pixel data fragments (encapsulated): items of defined length, then the
 * sequence delimiter. */
static gboolean
walk_fragments (Scan *s, gsize *pos, gsize end)
{
  for (;;)
    {
      if (end - *pos < 8)
        return fail (s, GAZE_IO_ERROR_DAMAGED, "its encapsulated pixel data is cut short");
      guint ig = u16 (s, *pos), ie = u16 (s, *pos + 2);
      guint32 il = u32 (s, *pos + 4);
      *pos += 8;
      if (ig == 0xFFFE && ie == 0xE0DD)
        return TRUE;
      if (ig != 0xFFFE || ie != 0xE000 || il == 0xFFFFFFFF)
        return fail (s, GAZE_IO_ERROR_CORRUPT, "a pixel data fragment is malformed");
      if (il > end - *pos)
        return fail (s, GAZE_IO_ERROR_DAMAGED, "its encapsulated pixel data is cut short");
      *pos += il;
    }
}

static void
note_palette (Scan *s, guint g, guint e, gsize at, guint32 vl)
{
  if (g != 0x0028)
    return;
  if (e == 0x0100 && vl == 2)
    s->bits_allocated = u16 (s, at);
  else if (e == 0x0004)
    {
      g_autofree char *pi = g_strstrip (g_strndup ((const char *) s->data + at, vl));
      s->palette_photometric = strcmp (pi, "PALETTE COLOR") == 0;
    }
  else if (e >= 0x1101 && e <= 0x1103 && vl == 6)
    {
      int c = (int) (e - 0x1101);
      s->has_desc[c] = TRUE;
      for (int k = 0; k < 3; k++)
        s->desc[c][k] = u16 (s, at + 2 * k);
    }
  else if (e >= 0x1201 && e <= 0x1203)
    {
      int c = (int) (e - 0x1201);
      s->has_lut[c] = TRUE;
      s->lut_len[c] = vl;
    }
  else if (e >= 0x1221 && e <= 0x1223)
    {
      s->segmented = TRUE;
      s->has_segments[e - 0x1221] = TRUE;
    }
}

static gboolean
walk (Scan *s, gsize *pos, gsize end, gboolean until_item_end, int depth)
{
  while (*pos < end)
    {
      if (end - *pos < 8)
        return fail (s, GAZE_IO_ERROR_CORRUPT, "cut short at byte %" G_GSIZE_FORMAT, *pos);
      gsize at = *pos;
      guint g = u16 (s, at), e = u16 (s, at + 2);
      if (g == 0xFFFE)
        {
          *pos += 8;
          if (e == 0xE00D && until_item_end)
            return TRUE;
          if (e == 0xE00D || e == 0xE0DD)
            continue; /* a stray delimiter: GDCM skips it */
          return fail (s, GAZE_IO_ERROR_CORRUPT,
                       "an item outside a sequence at byte %" G_GSIZE_FORMAT, at);
        }
      const guint8 *vr = s->data + at + 4;
      gboolean explicit_here = s->explicit_vr;
      gsize header = 8;
      guint32 vl;
      if (explicit_here)
        {
          if (!g_ascii_isupper (vr[0]) || !g_ascii_isupper (vr[1]))
            return fail (s, GAZE_IO_ERROR_CORRUPT, "(%04x,%04x) has no valid VR", g, e);
          /* GDCM reads a 4-byte length after letters it does not know and
           * allocates it whole (a 1.3 GB "CX" element; fuzz-dicom). */
          if (!is_known_vr (vr))
            return fail (s, GAZE_IO_ERROR_CORRUPT, "(%04x,%04x) has an unknown VR %c%c", g, e,
                         vr[0], vr[1]);
          if (is_long_vr (vr))
            {
              if (end - at < 12)
                return fail (s, GAZE_IO_ERROR_CORRUPT, "cut short in (%04x,%04x)", g, e);
              vl = u32 (s, at + 8);
              header = 12;
            }
          else
            vl = u16 (s, at + 6);
        }
      else
        vl = u32 (s, at + 4);
      *pos = at + header;
      gboolean pixels = g == 0x7FE0 && e == 0x0010;
      gboolean sq = explicit_here ? memcmp (vr, "SQ", 2) == 0 : vl == 0xFFFFFFFF;
      if (pixels && explicit_here && memcmp (vr, "OB", 2) != 0 && memcmp (vr, "OW", 2) != 0
          && memcmp (vr, "UN", 2) != 0)
        return fail (s, GAZE_IO_ERROR_CORRUPT, "Pixel Data has VR %c%c", vr[0], vr[1]);
      if (explicit_here && g == 0x0028 && e <= 0x0103
          && (e == 0x0002 || e == 0x0006 || e == 0x0010 || e == 0x0011 || e >= 0x0100)
          && (memcmp (vr, "US", 2) != 0 || vl != 2))
        return fail (s, GAZE_IO_ERROR_CORRUPT, "(%04x,%04x) is not one US value", g, e);
      if (vl == 0xFFFFFFFF)
        {
          if (pixels)
            {
              if (!walk_fragments (s, pos, end))
                return FALSE;
              continue;
            }
          if (!sq && !(explicit_here && memcmp (vr, "UN", 2) == 0))
            return fail (s, GAZE_IO_ERROR_CORRUPT, "(%04x,%04x) has an undefined length", g, e);
          /* A sequence stored as UN of undefined length holds implicit VR
           * little-endian items (PS3.5 6.2.2). */
          gboolean was_explicit = s->explicit_vr;
          if (explicit_here && memcmp (vr, "UN", 2) == 0)
            s->explicit_vr = FALSE;
          gboolean items_ok = walk_items (s, pos, end, TRUE, depth + 1, g, e);
          s->explicit_vr = was_explicit;
          if (!items_ok)
            return FALSE;
          continue;
        }
      if (vl > end - *pos)
        {
          if (pixels && depth == 0)
            return fail (s, GAZE_IO_ERROR_DAMAGED,
                         "pixel data has %" G_GSIZE_FORMAT " of its %u bytes", end - *pos, vl);
          return fail (s, GAZE_IO_ERROR_CORRUPT,
                       "(%04x,%04x) declares %u bytes, %" G_GSIZE_FORMAT " remain", g, e, vl,
                       end - *pos);
        }
      if (sq && explicit_here)
        {
          gsize seq_end = *pos + vl;
          if (!walk_items (s, pos, seq_end, FALSE, depth + 1, g, e))
            return FALSE;
        }
      else if (depth == 0)
        note_palette (s, g, e, *pos, vl);
      *pos = at + header + vl;
    }
  if (until_item_end)
    return fail (s, GAZE_IO_ERROR_CORRUPT, "an item is never closed");
  return TRUE;
}

static gboolean
check_palette (Scan *s)
{
  if (!s->has_desc[0] && !s->has_desc[1] && !s->has_desc[2])
    {
      if (s->palette_photometric)
        return fail (s, GAZE_IO_ERROR_CORRUPT, "PALETTE COLOR without its lookup tables");
      return TRUE;
    }
  /* GDCM sizes the palette's indices by Bits Allocated and asserts on
   * anything but 8 or 16. */
  if (s->palette_photometric && s->bits_allocated != 8 && s->bits_allocated != 16)
    return fail (s, GAZE_IO_ERROR_CORRUPT, "PALETTE COLOR with Bits Allocated %u",
                 s->bits_allocated);
  for (int c = 0; c < 3; c++)
    {
      if (!s->has_desc[c] || s->desc[c][0] != s->desc[0][0] || s->desc[c][2] != s->desc[0][2])
        return fail (s, GAZE_IO_ERROR_CORRUPT, "the palette LUT descriptors disagree");
      guint bits = s->desc[c][2];
      if (bits != 8 && bits != 16)
        return fail (s, GAZE_IO_ERROR_CORRUPT, "palette LUT entries of %u bits", bits);
      if (s->desc[c][1] != 0)
        return fail (s, GAZE_IO_ERROR_CORRUPT, "unsupported palette LUT: first mapped value %u",
                     s->desc[c][1]);
      /* GDCM asserts when a colour has neither. */
      if (!s->has_lut[c] && !s->has_segments[c])
        return fail (s, GAZE_IO_ERROR_CORRUPT, "the palette has no %s lookup table",
                     c == 0       ? "red"
                         : c == 1 ? "green"
                                  : "blue");
      if (s->segmented)
        continue;
      guint64 n = s->desc[c][0] == 0 ? 65536 : s->desc[c][0];
      guint64 want = n * (bits / 8);
      if (!s->has_lut[c]
          || !(s->lut_len[c] == want || (bits == 8 && s->lut_len[c] == want + (want & 1))
               || (bits == 8 && s->lut_len[c] == 2 * n)))
        return fail (s, GAZE_IO_ERROR_CORRUPT,
                     "palette LUT data of %" G_GUINT64_FORMAT " bytes for %" G_GUINT64_FORMAT
                     " entries of %u bits",
                     s->has_lut[c] ? s->lut_len[c] : 0, n, bits);
    }
  return TRUE;
}

/* The file meta information (group 0002) from *pos; sets *ts to the transfer
 * syntax UID it names, if any. Explicit or implicit VR as its first element
 * says — one way for the whole group, as GDCM reads it — with every length
 * bounded by the bytes that remain. Letters that are not a VR GDCM knows
 * leave its choice unclear: refused. */
static gboolean
walk_meta (Scan *s, gsize *pos, char **ts)
{
  const guint8 *data = s->data;
  gsize len = s->len;
  gboolean first = TRUE, explicit_meta = TRUE;
  while (len - *pos >= 8 && data[*pos] == 0x02 && data[*pos + 1] == 0x00)
    {
      gsize at = *pos;
      const guint8 *vr = data + at + 4;
      gboolean letters = g_ascii_isupper (vr[0]) && g_ascii_isupper (vr[1]);
      if (letters && !is_known_vr (vr))
        return fail (s, GAZE_IO_ERROR_CORRUPT, "the file meta information has an unknown VR %c%c",
                     vr[0], vr[1]);
      if (first)
        explicit_meta = letters;
      else if (letters != explicit_meta)
        return fail (s, GAZE_IO_ERROR_CORRUPT,
                     "the file meta information mixes explicit and implicit VR");
      first = FALSE;
      /* GDCM asserts on a sequence or an undefined length in the meta group. */
      if (explicit_meta && memcmp (vr, "SQ", 2) == 0)
        return fail (s, GAZE_IO_ERROR_CORRUPT, "a sequence in the file meta information");
      gsize header = explicit_meta && is_long_vr (vr) ? 12 : 8;
      if (len - at < header)
        return fail (s, GAZE_IO_ERROR_CORRUPT, "cut short in the file meta information");
      guint32 vl = !explicit_meta ? u32 (s, at + 4)
          : header == 12          ? u32 (s, at + 8)
                                  : u16 (s, at + 6);
      if (vl == 0xFFFFFFFF || vl > len - at - header)
        return fail (s, GAZE_IO_ERROR_CORRUPT,
                     "(0002,%04x) in the file meta information declares %u bytes, %" G_GSIZE_FORMAT
                     " remain",
                     u16 (s, at + 2), vl, len - at - header);
      if (data[at + 2] == 0x10 && data[at + 3] == 0x00 && *ts == NULL)
        *ts = g_strstrip (g_strndup ((const char *) data + at + header, vl));
      *pos = at + header + vl;
    }
  return TRUE;
}

gboolean
gaze_io_dicom_scan (const guint8 *data, gsize len, const char *what, GError **error)
{
  Scan s = { 0 };
  s.data = data;
  s.len = len;
  s.what = what;
  s.error = error;
  gsize pos = len >= 132 && memcmp (data + 128, "DICM", 4) == 0 ? 132 : 0;
  /* File meta group: explicit VR little endian by the standard; GDCM also
   * reads it as implicit VR when its first element has no known VR, and
   * allocates whatever length it finds, so walk it the same way. */
  s.explicit_vr = TRUE;
  g_autofree char *ts = NULL;
  gsize meta_start = pos;
  if (!walk_meta (&s, &pos, &ts))
    return FALSE;
  /* GDCM reads one more tag after the meta group (or the preamble) and
   * asserts when there is none. */
  if (pos == len)
    return fail (&s, GAZE_IO_ERROR_CORRUPT,
                 pos > meta_start ? "nothing follows its file meta information"
                                  : "it holds no data elements");
  if (len - pos < 8 && pos < len)
    return fail (&s, GAZE_IO_ERROR_CORRUPT, "cut short after %" G_GSIZE_FORMAT " bytes", pos);
  if (ts != NULL)
    {
      if (strcmp (ts, "1.2.840.10008.1.2.1.99") == 0)
        return TRUE; /* deflated: GDCM inflates it */
      s.explicit_vr = strcmp (ts, "1.2.840.10008.1.2") != 0;
      s.big_endian = strcmp (ts, "1.2.840.10008.1.2.2") == 0;
    }
  /* What the data set really uses: GDCM tells explicit from implicit by the
   * first element, whatever the transfer syntax says. */
  if (len - pos >= 8)
    s.explicit_vr = g_ascii_isupper (data[pos + 4]) && g_ascii_isupper (data[pos + 5]);
  /* No transfer syntax: the byte order GDCM will read with, decided as it
   * does (FileMetaInformation::ReadCompat) — any other reading could accept
   * lengths that GDCM then allocates. With a meta group but no syntax in it,
   * GDCM reads little endian. */
  if (ts == NULL && pos == meta_start && len - pos >= 8)
    {
      guint g = (guint) data[pos + 1] << 8 | data[pos];
      guint e = (guint) data[pos + 3] << 8 | data[pos + 2];
      gboolean known = is_known_vr (data + pos + 4);
      s.explicit_vr = known;
      if (g == 0x0800)
        s.big_endian = TRUE; /* ACR-NEMA */
      else if (g != 0x0008 && e != 0x0010 && known)
        s.big_endian = g > 0xff || e > 0xff;
    }
  if (!walk (&s, &pos, len, FALSE, 0))
    return FALSE;
  return check_palette (&s);
}
