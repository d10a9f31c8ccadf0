//! Is an uploaded recording really a video, and what does its MP4 header say?
//!
//! Uploads live in a blob store that the app layer can only read by byte range, so nothing here
//! takes a whole file. Instead:
//!
//! 1. The caller reads the first [`SNIFF_BYTES`] bytes (fewer when the file is shorter) and asks
//!    [`sniff`] which [`Container`] they start. Anything else (text, an HTML page renamed `.mp4`,
//!    an image, random bytes) is refused with a [`VideoError`] whose `Display` is a sentence fit
//!    to show the uploader (it becomes the message of a 415 `unsupported_media_type` answer).
//! 2. For MP4 and QuickTime ([`Container::is_iso_bmff`]), an [`Mp4Walker`] walks the top-level
//!    boxes: it says which 16 bytes to read next ([`Mp4Walker::next_read`]), the caller reads
//!    them and hands them back ([`Mp4Walker::feed`]), until the walk is over; then
//!    [`Mp4Walker::finish`] gives the [`Mp4Layout`] (where the `moov` box is) or says why the file
//!    is truncated or corrupt. A box that runs past the end of the file is how a truncated
//!    upload shows, wherever the cut falls.
//! 3. The caller loads the `moov` box (at most [`MAX_MOOV_BYTES`]) and [`parse_moov`] reads the
//!    movie header (`mvhd`): duration and creation time.
//!
//! ```text
//! let head = store.read(0..min(SNIFF_BYTES, len));
//! let container = sniff(&head, len)?;
//! if container.is_iso_bmff() {
//!     let mut walker = Mp4Walker::new(len);
//!     while let Some(range) = walker.next_read() {
//!         walker.feed(&store.read(range))?;
//!     }
//!     let layout = walker.finish()?;
//!     let info = parse_moov(&store.read(layout.moov))?;
//! }
//! ```
//!
//! `mvhd` is parsed by hand rather than with a crate: Mozilla's `mp4parse` (the well-kept MP4
//! parser) reads `mvhd` but keeps only the timescale public (its `MovieHeaderBox` drops the
//! creation time, and the movie duration is private), and it wants to read the whole stream
//! itself. The movie header is a fixed layout of a few big-endian integers (ISO/IEC 14496-12
//! §8.2.2), so a hand parser is a few lines with no new dependency.
//!
//! Everything here is pure: no I/O, no allocation proportional to the file, and every loop is
//! bounded, so a hostile file can make it neither panic, nor spin, nor allocate without bound.

use std::ops::Range;

use chrono::{DateTime, Utc};

/// How many leading bytes [`sniff`] wants: enough for an `ftyp` box with its brands, an EBML
/// header, and five MPEG-TS (188-byte) or M2TS (192-byte) packets.
pub const SNIFF_BYTES: usize = 1024;

/// The most top-level boxes an [`Mp4Walker`] visits before refusing the file: real recordings
/// have a handful (fragmented ones a few hundred), so this only stops a hostile file from
/// making the server read header after header.
pub const MAX_TOP_LEVEL_BOXES: u32 = 4096;

/// The largest `moov` box (header included) the caller is asked to load into memory: a
/// recording's movie box is kilobytes to a few megabytes even for hours of video.
pub const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes an [`Mp4Walker`] asks for at each box: a box header is at most 16 bytes (32-bit size,
/// type, 64-bit largesize).
const HEADER_READ: u64 = 16;

/// Seconds from 1904-01-01T00:00:00Z (the MP4 epoch) to the Unix epoch.
const MP4_EPOCH_OFFSET: i64 = 2_082_844_800;

/// The MPEG-TS packet size.
const TS_PACKET: usize = 188;

/// The M2TS (Blu-ray, AVCHD camcorders) packet size: a 4-byte timestamp, then a TS packet.
const M2TS_PACKET: usize = 192;

/// How many packets in a row must carry the sync byte before bytes count as MPEG-TS.
const MIN_TS_PACKETS: usize = 3;

/// The containers a recognised video comes in, named by what we accept.
const ACCEPTED: &str = "an MP4, QuickTime, Matroska/WebM or MPEG-TS container";

/// A recognised video container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// ISO base media file (`ftyp` with an MP4, 3GP, M4V, … brand).
    Mp4,
    /// Apple QuickTime movie (`ftyp qt  `, or an old `.mov` that starts straight with an atom).
    QuickTime,
    /// Matroska (EBML DocType `matroska`).
    Matroska,
    /// WebM (EBML DocType `webm`).
    WebM,
    /// MPEG transport stream, plain (188-byte packets) or M2TS (192-byte packets).
    MpegTs,
}

impl Container {
    /// The MIME type to store and serve the file with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Mp4 => "video/mp4",
            Self::QuickTime => "video/quicktime",
            Self::Matroska => "video/x-matroska",
            Self::WebM => "video/webm",
            Self::MpegTs => "video/mp2t",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Mp4 => "mp4",
            Self::QuickTime => "mov",
            Self::Matroska => "mkv",
            Self::WebM => "webm",
            Self::MpegTs => "ts",
        }
    }

    /// Whether the file is made of MP4/QuickTime boxes, so an [`Mp4Walker`] can check its
    /// structure and [`parse_moov`] read its header.
    pub fn is_iso_bmff(self) -> bool {
        matches!(self, Self::Mp4 | Self::QuickTime)
    }
}

/// Why a file is refused. `Display` is a user-facing sentence (lower-case, no full stop, as the
/// API's other messages are).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoError {
    /// The bytes are not a video container at all.
    #[error("the file is not a video: {reason}")]
    NotVideo {
        /// What the file looks like instead, e.g. "it starts with text, not …".
        reason: String,
    },
    /// A video container we recognise but do not accept.
    #[error(
        "the file is {format}, which is not accepted: upload an MP4, QuickTime (.mov), \
         Matroska/WebM or MPEG-TS video"
    )]
    Unsupported {
        /// The format, with its article, e.g. "an AVI video".
        format: &'static str,
    },
    /// The file ends before its own structure says it does: an interrupted upload or recording.
    #[error("the video file is incomplete: {detail}; upload the whole recording again")]
    Truncated {
        /// Where the structure and the file disagree.
        detail: String,
    },
    /// The container's structure is broken.
    #[error("the video file is damaged: {detail}")]
    Corrupt {
        /// What is broken.
        detail: String,
    },
    /// The structure is valid as far as it goes but exceeds what this server checks.
    #[error("the video file's structure is larger than this server accepts: {detail}")]
    TooLarge {
        /// Which limit, and the value.
        detail: String,
    },
    /// The caller drove an [`Mp4Walker`] out of order: a bug in the caller, not in the file,
    /// which the app layer should answer as an internal error.
    #[error("the video could not be checked: {detail}")]
    Misuse {
        /// What was called out of order.
        detail: &'static str,
    },
}

impl VideoError {
    /// The user-facing sentence (the same as `Display`).
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// Whether the error is the caller's bug ([`VideoError::Misuse`]) rather than the file's
    /// fault.
    pub fn is_caller_bug(&self) -> bool {
        matches!(self, Self::Misuse { .. })
    }

    fn not_video(reason: impl Into<String>) -> Self {
        Self::NotVideo {
            reason: reason.into(),
        }
    }

    fn truncated(detail: impl Into<String>) -> Self {
        Self::Truncated {
            detail: detail.into(),
        }
    }

    fn corrupt(detail: impl Into<String>) -> Self {
        Self::Corrupt {
            detail: detail.into(),
        }
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    let mut a = [0_u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_be_bytes(a))
}

fn four_cc(bytes: &[u8], at: usize) -> Option<[u8; 4]> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some([b[0], b[1], b[2], b[3]])
}

/// Box and brand codes are printable ASCII in every real file; anything else means the bytes
/// are not a box header (e.g. the walk has wandered into garbage).
fn printable(code: [u8; 4]) -> bool {
    code.iter().all(|b| (0x20..=0x7e).contains(b))
}

// ---------------------------------------------------------------------------------------------
// Sniffing

/// Recognises the container from the file's first bytes, or says why the file is not a video.
///
/// `head` is the first `min(SNIFF_BYTES, file_len)` bytes of the file and `file_len` its whole
/// length. Recognised:
/// - MP4: an `ftyp` box first; QuickTime when its major brand is `qt  ` (or its only compatible
///   brand is), else MP4. Image and audio brands (HEIF, AVIF, M4A, …) are refused.
/// - QuickTime without `ftyp` (old `.mov`): a leading `moov`, `mdat`, `wide`, `free`, `skip` or
///   `pnot` atom of sane size.
/// - Matroska/WebM: the EBML magic and a header whose DocType is `matroska` or `webm`.
/// - MPEG-TS: the sync byte `0x47` at the start of every 188-byte packet in `head` (or at byte 4
///   of every 192-byte M2TS packet), at least three packets.
pub fn sniff(head: &[u8], file_len: u64) -> Result<Container, VideoError> {
    if head.is_empty() || file_len == 0 {
        return Err(VideoError::not_video("it is empty"));
    }
    if let Some(found) = sniff_ftyp(head, file_len) {
        return found;
    }
    if let Some(found) = sniff_ebml(head, file_len) {
        return found;
    }
    if sniff_old_quicktime(head, file_len) {
        return Ok(Container::QuickTime);
    }
    if let Some(found) = sniff_ts(head, file_len) {
        return found;
    }
    Err(describe_other(head))
}

/// `Some` when the file starts with an `ftyp` box.
fn sniff_ftyp(head: &[u8], file_len: u64) -> Option<Result<Container, VideoError>> {
    if four_cc(head, 4)? != *b"ftyp" {
        return None;
    }
    let size = u64::from(be_u32(head, 0)?);
    // Major brand and minor version are mandatory: 16 bytes at least.
    if size < 16 {
        return Some(Err(VideoError::corrupt(
            "its file-type box (ftyp) is too short",
        )));
    }
    if size > file_len {
        return Some(Err(VideoError::truncated(format!(
            "the file is {file_len} bytes long but its first box claims {size}"
        ))));
    }
    let Some(major) = four_cc(head, 8) else {
        return Some(Err(VideoError::truncated("it ends inside its first box")));
    };
    if !printable(major) {
        return Some(Err(VideoError::corrupt(
            "its file-type box (ftyp) has an invalid brand",
        )));
    }
    if let Some(refusal) = non_video_brand(major) {
        return Some(Err(refusal));
    }
    if major == *b"qt  " {
        return Some(Ok(Container::QuickTime));
    }
    // Compatible brands follow the minor version, up to the end of the box (as far as we read).
    let end = usize::try_from(size).unwrap_or(usize::MAX).min(head.len());
    let compatible: Vec<[u8; 4]> = (16..end)
        .step_by(4)
        .filter_map(|at| four_cc(&head[..end], at))
        .filter(|brand| *brand != [0; 4])
        .collect();
    if !compatible.is_empty() && compatible.iter().all(|b| b == b"qt  ") {
        return Some(Ok(Container::QuickTime));
    }
    Some(Ok(Container::Mp4))
}

/// ISO base media brands that are photos or sound, not video.
fn non_video_brand(major: [u8; 4]) -> Option<VideoError> {
    match &major {
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" | b"avif"
        | b"avis" => Some(VideoError::not_video(
            "it is an HEIF or AVIF image, not a video",
        )),
        b"jp2 " | b"jpx " | b"jpm " => Some(VideoError::not_video(
            "it is a JPEG 2000 image, not a video",
        )),
        b"crx " => Some(VideoError::not_video(
            "it is a camera RAW photo, not a video",
        )),
        b"M4A " | b"M4B " | b"M4P " | b"F4A " | b"F4B " => Some(VideoError::not_video(
            "it is an audio file (M4A), not a video",
        )),
        _ => None,
    }
}

/// Old QuickTime files start straight with an atom, no `ftyp`.
fn sniff_old_quicktime(head: &[u8], file_len: u64) -> bool {
    let Some(kind) = four_cc(head, 4) else {
        return false;
    };
    if !matches!(
        &kind,
        b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot"
    ) {
        return false;
    }
    let Some(size32) = be_u32(head, 0) else {
        return false;
    };
    let (size, header) = match size32 {
        1 => match be_u64(head, 8) {
            Some(large) => (large, 16),
            None => return false,
        },
        // "To the end of the file" only makes sense for media data.
        0 if &kind == b"mdat" => (file_len, 8),
        0 => return false,
        n => (u64::from(n), 8),
    };
    if size < header || size > file_len {
        return false;
    }
    // When the next atom's header is in view, it must look like one too: four random bytes
    // spelling `free` are unlikely, eight lining up twice far less.
    match usize::try_from(size) {
        Ok(next) if next.saturating_add(8) <= head.len() => {
            four_cc(head, next + 4).is_some_and(printable)
        }
        _ => true,
    }
}

/// `Some` when the file starts with the EBML magic.
fn sniff_ebml(head: &[u8], file_len: u64) -> Option<Result<Container, VideoError>> {
    if !head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return None;
    }
    Some(
        ebml_doc_type(head, file_len).and_then(|doc_type| match doc_type {
            b"webm" => Ok(Container::WebM),
            b"matroska" => Ok(Container::Matroska),
            other => Err(VideoError::not_video(format!(
                "it is an EBML document of type \"{}\", not Matroska or WebM video",
                shown(other)
            ))),
        }),
    )
}

/// At most 32 printable characters of untrusted bytes, for a message.
fn shown(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(32)
        .map(|&b| {
            if (0x20..=0x7e).contains(&b) {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

/// An EBML variable-length integer at the start of `bytes`: its length in bytes (1–8, from the
/// leading zero bits of the first byte), and its value with the length marker kept (element
/// IDs) or cleared (sizes). `None` when the first byte is zero or the bytes end too soon.
fn read_vint(bytes: &[u8], keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    if first == 0 {
        return None;
    }
    let len = first.leading_zeros() as usize + 1;
    let rest = bytes.get(1..len)?;
    // The marker bit is the `len`-th from the top; shifting a u16 keeps len = 8 in range.
    let lead = if keep_marker {
        first
    } else {
        first & u8::try_from(0xff_u16 >> len).unwrap_or(0)
    };
    let value = rest
        .iter()
        .fold(u64::from(lead), |acc, &b| (acc << 8) | u64::from(b));
    Some((value, len))
}

/// Whether a size vint of `len` bytes has all its value bits set: "unknown size".
fn vint_unknown(value: u64, len: usize) -> bool {
    value == (1_u64 << (7 * len)) - 1
}

/// The DocType of the EBML header that starts `head`.
fn ebml_doc_type(head: &[u8], file_len: u64) -> Result<&[u8], VideoError> {
    const DOC_TYPE: u64 = 0x4282;
    let malformed = || VideoError::corrupt("its Matroska/WebM (EBML) header is malformed");
    let at = 4;
    let (size, size_len) = read_vint(&head[at..], false).ok_or_else(malformed)?;
    if vint_unknown(size, size_len) {
        return Err(malformed());
    }
    let start = at + size_len;
    let end = usize::try_from(size)
        .ok()
        .and_then(|s| start.checked_add(s))
        .ok_or_else(malformed)?;
    if end > head.len() {
        return Err(if (head.len() as u64) >= file_len {
            VideoError::truncated("it ends inside its Matroska/WebM (EBML) header")
        } else {
            // A real header is a few dozen bytes; one longer than SNIFF_BYTES is not one.
            malformed()
        });
    }
    let header = &head[start..end];
    let mut pos = 0;
    // Each child takes at least two bytes, so this ends within the header.
    while pos < header.len() {
        let (id, id_len) = read_vint(&header[pos..], true).ok_or_else(malformed)?;
        // EBML element IDs are at most 4 bytes long.
        if id_len > 4 {
            return Err(malformed());
        }
        pos += id_len;
        let (len, len_len) = header
            .get(pos..)
            .and_then(|rest| read_vint(rest, false))
            .ok_or_else(malformed)?;
        if vint_unknown(len, len_len) {
            return Err(malformed());
        }
        pos += len_len;
        let data_end = usize::try_from(len)
            .ok()
            .and_then(|l| pos.checked_add(l))
            .filter(|&e| e <= header.len())
            .ok_or_else(malformed)?;
        if id == DOC_TYPE {
            let value = &header[pos..data_end];
            // EBML strings may be padded with NULs.
            let trimmed_len = value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            return Ok(&value[..trimmed_len]);
        }
        pos = data_end;
    }
    Err(VideoError::corrupt(
        "its Matroska/WebM (EBML) header does not say what kind of document it is",
    ))
}

/// `Some` when the bytes are MPEG-TS or M2TS packets, or too short to tell.
fn sniff_ts(head: &[u8], file_len: u64) -> Option<Result<Container, VideoError>> {
    let synced = |packet: usize, offset: usize| {
        head.len() >= MIN_TS_PACKETS * packet
            && (offset..head.len())
                .step_by(packet)
                .all(|at| head[at] == 0x47)
    };
    if synced(TS_PACKET, 0) || synced(M2TS_PACKET, 4) {
        return Some(Ok(Container::MpegTs));
    }
    // A file too short for three packets whose packets so far are in sync.
    let starts_in_sync = head.first() == Some(&0x47) || head.get(4) == Some(&0x47);
    // Text that happens to start with "G" is described as text instead.
    if starts_in_sync && file_len < (MIN_TS_PACKETS * TS_PACKET) as u64 && as_text(head).is_none() {
        let aligned = |packet: usize, offset: usize| {
            (offset..head.len())
                .step_by(packet)
                .all(|at| head[at] == 0x47)
        };
        if aligned(TS_PACKET, 0) || aligned(M2TS_PACKET, 4) {
            return Some(Err(VideoError::not_video(format!(
                "it is only {file_len} bytes long, too short to be a video"
            ))));
        }
    }
    None
}

/// Why bytes that are no accepted container are refused: what they look like instead.
fn describe_other(head: &[u8]) -> VideoError {
    let starts = |magic: &[u8]| head.starts_with(magic);
    let riff = |form: &[u8; 4]| starts(b"RIFF") && head.get(8..12) == Some(&form[..]);
    let unsupported = |format| VideoError::Unsupported { format };
    let is = |what: &str| VideoError::not_video(format!("it is {what}, not {ACCEPTED}"));

    if riff(b"AVI ") {
        return unsupported("an AVI video");
    }
    if starts(b"FLV\x01") {
        return unsupported("a Flash (FLV) video");
    }
    if starts(&[0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11]) {
        return unsupported("a Windows Media (ASF/WMV) file");
    }
    if starts(&[0, 0, 1, 0xba]) {
        return unsupported("an MPEG program stream (.mpg)");
    }
    if starts(b"OggS") {
        return unsupported("an Ogg file");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return is("a PNG image");
    }
    if starts(&[0xff, 0xd8, 0xff]) {
        return is("a JPEG image");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return is("a GIF image");
    }
    if riff(b"WEBP") {
        return is("a WebP image");
    }
    if riff(b"WAVE") {
        return is("a WAV audio file");
    }
    if starts(b"ID3") {
        return is("an MP3 audio file");
    }
    if starts(b"%PDF-") {
        return is("a PDF document");
    }
    if starts(b"PK\x03\x04") {
        return is("a ZIP archive");
    }
    if head.iter().all(|&b| b == 0) {
        return VideoError::not_video(format!("it holds only zero bytes, not {ACCEPTED}"));
    }
    if let Some(text) = as_text(head) {
        let text = text.trim_start();
        let lower: String = text.chars().take(256).collect::<String>().to_lowercase();
        if lower.starts_with("<!doctype html") || lower.contains("<html") {
            return is("an HTML page");
        }
        if text.starts_with('{') || text.starts_with('[') {
            return VideoError::not_video(format!("it starts with JSON text, not {ACCEPTED}"));
        }
        return VideoError::not_video(format!("it starts with text, not {ACCEPTED}"));
    }
    VideoError::not_video(format!("its first bytes are not those of {ACCEPTED}"))
}

/// `head` as text when it is UTF-8 (a character cut at the end is fine) without control
/// characters other than whitespace.
fn as_text(head: &[u8]) -> Option<&str> {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Only an incomplete character at the very end is forgiven.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let clean = !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'));
    clean.then_some(text)
}

// ---------------------------------------------------------------------------------------------
// MP4 structure

/// A box header as read from the file.
#[derive(Debug, Clone, Copy)]
struct BoxHeader {
    kind: [u8; 4],
    /// The whole box, header included.
    size: u64,
    /// 8, 16 with a largesize, more for a `uuid` box.
    header_len: u64,
}

/// What can be wrong with a box header.
enum HeaderProblem {
    /// The bytes end before the header does.
    Short,
    /// The box claims to be smaller than its own header.
    TooSmall,
}

/// Reads the box header at the start of `bytes`; `room` is how many bytes there are from the
/// box's start to the end of what encloses it (the file, or the parent box), which a size of 0
/// ("to the end") stands for.
fn read_box_header(bytes: &[u8], room: u64) -> Result<BoxHeader, HeaderProblem> {
    let size32 = be_u32(bytes, 0).ok_or(HeaderProblem::Short)?;
    let kind = four_cc(bytes, 4).ok_or(HeaderProblem::Short)?;
    let (size, mut header_len) = match size32 {
        0 => (room, 8),
        1 => (be_u64(bytes, 8).ok_or(HeaderProblem::Short)?, 16),
        n => (u64::from(n), 8),
    };
    // A `uuid` box has a 16-byte extended type after the header proper.
    if &kind == b"uuid" {
        header_len += 16;
    }
    if size < header_len {
        return Err(HeaderProblem::TooSmall);
    }
    Ok(BoxHeader {
        kind,
        size,
        header_len,
    })
}

/// Where a walk stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WalkState {
    /// Waiting for the header bytes at `offset`.
    Reading,
    /// Every top-level box has been visited.
    Done,
    /// The file was refused; the error is given again on every later call.
    Failed(VideoError),
}

/// Walks the top-level boxes of an MP4 or QuickTime file, one header read at a time.
///
/// Drive it with [`next_read`](Self::next_read) and [`feed`](Self::feed) until `next_read`
/// returns `None`, then call [`finish`](Self::finish). Each read is at most 16 bytes, and there
/// are at most [`MAX_TOP_LEVEL_BOXES`] of them. Box sizes are the only thing followed: the walk
/// never looks inside a box.
#[derive(Debug, Clone)]
pub struct Mp4Walker {
    file_len: u64,
    /// Where the next box starts.
    offset: u64,
    boxes: u32,
    moov: Option<Range<u64>>,
    mdat_seen: bool,
    /// Whether an `mdat` came before the `moov` (so the file is not "fast start").
    mdat_before_moov: bool,
    state: WalkState,
}

/// Where things are in a well-formed MP4 or QuickTime file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mp4Layout {
    /// The byte range of the `moov` box, header included: load it and hand it to
    /// [`parse_moov`]. Never longer than [`MAX_MOOV_BYTES`].
    pub moov: Range<u64>,
    /// Whether the file has a media data (`mdat`) box: always true in a layout that
    /// [`Mp4Walker::finish`] returns, since a file without one is refused.
    pub has_mdat: bool,
    /// Whether `moov` comes before the first `mdat` ("fast start"), so players can start before
    /// the whole file has arrived.
    pub faststart: bool,
}

impl Mp4Walker {
    /// A walk over a file of `file_len` bytes, starting at its first box.
    pub fn new(file_len: u64) -> Self {
        Self {
            file_len,
            offset: 0,
            boxes: 0,
            moov: None,
            mdat_seen: false,
            mdat_before_moov: false,
            state: if file_len == 0 {
                WalkState::Done
            } else {
                WalkState::Reading
            },
        }
    }

    /// The next range the caller must read and pass to [`feed`](Self::feed): 16 bytes at the
    /// next box's offset (fewer at the end of the file). `None` when the walk is over, whether
    /// the file passed or was refused: then call [`finish`](Self::finish).
    pub fn next_read(&self) -> Option<Range<u64>> {
        match self.state {
            WalkState::Reading => {
                Some(self.offset..self.offset.saturating_add(HEADER_READ).min(self.file_len))
            }
            WalkState::Done | WalkState::Failed(_) => None,
        }
    }

    /// Takes the bytes of the range [`next_read`](Self::next_read) asked for. Fewer bytes than
    /// asked mean the stored file is shorter than its stated length (truncated); bytes past the
    /// range are ignored. An error is final: the walk is over and [`finish`](Self::finish)
    /// returns the same error.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), VideoError> {
        match &self.state {
            WalkState::Reading => {}
            WalkState::Failed(e) => return Err(e.clone()),
            WalkState::Done => {
                return Err(VideoError::Misuse {
                    detail: "feed was called after the walk was over",
                });
            }
        }
        match self.step(bytes) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.state = WalkState::Failed(e.clone());
                Err(e)
            }
        }
    }

    fn step(&mut self, bytes: &[u8]) -> Result<(), VideoError> {
        let offset = self.offset;
        let room = self.file_len - offset;
        let wanted = usize::try_from(room.min(HEADER_READ)).unwrap_or(usize::MAX);
        let bytes = &bytes[..bytes.len().min(wanted)];
        if bytes.len() < wanted {
            return Err(VideoError::truncated(format!(
                "it is said to be {} bytes long but ends at byte {}",
                self.file_len,
                offset + bytes.len() as u64
            )));
        }
        let header = read_box_header(bytes, room).map_err(|problem| match problem {
            HeaderProblem::Short => VideoError::truncated(format!(
                "it ends at byte {} in the middle of a box header",
                self.file_len
            )),
            HeaderProblem::TooSmall => VideoError::corrupt(format!(
                "the box at byte {offset} claims to be smaller than its own header"
            )),
        })?;
        if !printable(header.kind) {
            return Err(VideoError::corrupt(format!(
                "there is no valid box at byte {offset}"
            )));
        }
        self.boxes += 1;
        if self.boxes > MAX_TOP_LEVEL_BOXES {
            return Err(VideoError::TooLarge {
                detail: format!("it has more than {MAX_TOP_LEVEL_BOXES} top-level boxes"),
            });
        }
        let end = offset
            .checked_add(header.size)
            .filter(|&end| end <= self.file_len)
            .ok_or_else(|| {
                VideoError::truncated(format!(
                    "it ends at byte {} but its '{}' box at byte {offset} runs for {} bytes",
                    self.file_len,
                    shown(&header.kind),
                    header.size
                ))
            })?;
        match &header.kind {
            b"moov" => {
                if self.moov.is_some() {
                    return Err(VideoError::corrupt("it has more than one movie box (moov)"));
                }
                if header.size > MAX_MOOV_BYTES {
                    return Err(VideoError::TooLarge {
                        detail: format!(
                            "its movie box (moov) is {} bytes, over the limit of {MAX_MOOV_BYTES}",
                            header.size
                        ),
                    });
                }
                self.moov = Some(offset..end);
            }
            b"mdat" => {
                self.mdat_seen = true;
                if self.moov.is_none() {
                    self.mdat_before_moov = true;
                }
            }
            _ => {}
        }
        self.offset = end;
        if end == self.file_len {
            self.state = WalkState::Done;
        }
        Ok(())
    }

    /// After [`next_read`](Self::next_read) returned `None`: the layout, or why the file is
    /// refused (truncated, corrupt, no `moov`, no `mdat`).
    pub fn finish(self) -> Result<Mp4Layout, VideoError> {
        match self.state {
            WalkState::Failed(e) => return Err(e),
            WalkState::Reading => {
                return Err(VideoError::Misuse {
                    detail: "finish was called before the walk was over",
                });
            }
            WalkState::Done => {}
        }
        if self.file_len == 0 {
            return Err(VideoError::not_video("it is empty"));
        }
        let Some(moov) = self.moov else {
            return Err(VideoError::truncated(
                "it has no movie box (moov), as when a recording was cut off before it was \
                 finished",
            ));
        };
        if !self.mdat_seen {
            return Err(VideoError::corrupt("it has no media data box (mdat)"));
        }
        Ok(Mp4Layout {
            moov,
            has_mdat: true,
            faststart: !self.mdat_before_moov,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Movie header

/// What the movie header (`mvhd`) says about the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mp4Info {
    /// The movie's duration in milliseconds (rounded down); `None` when the header leaves it
    /// unknown (timescale 0, duration 0 as fragmented files write, or all ones).
    pub duration_ms: Option<u64>,
    /// When the movie was created, as the camera's clock said; `None` when the header leaves it
    /// unknown (0) or it cannot be represented.
    pub created_at: Option<DateTime<Utc>>,
}

/// Reads the movie header (`mvhd`) inside a `moov` box.
///
/// `moov` is the whole box, header included: the bytes of [`Mp4Layout::moov`]. The `mvhd` must
/// be one of its direct children (ISO/IEC 14496-12 §8.2.2): version 0 holds creation and
/// modification times, timescale and duration as 32-bit numbers, version 1 the times and
/// duration as 64-bit. Times count seconds from 1904-01-01T00:00:00Z; the duration counts
/// timescale units.
pub fn parse_moov(moov: &[u8]) -> Result<Mp4Info, VideoError> {
    let len = moov.len() as u64;
    let header = read_box_header(moov, len).map_err(|_| not_moov())?;
    if &header.kind != b"moov" {
        return Err(not_moov());
    }
    if header.size != len {
        return Err(VideoError::truncated(format!(
            "its movie box (moov) should be {} bytes but {len} were read",
            header.size
        )));
    }
    let mut pos = header.header_len;
    // Each child is at least 8 bytes long, so this ends within the box.
    while pos < len {
        let at = usize::try_from(pos).map_err(|_| not_moov())?;
        let child = read_box_header(&moov[at..], len - pos).map_err(|_| {
            VideoError::corrupt("a box inside its movie box (moov) has a broken header")
        })?;
        let end = pos
            .checked_add(child.size)
            .filter(|&end| end <= len)
            .ok_or_else(|| {
                VideoError::corrupt("a box inside its movie box (moov) runs past the end of it")
            })?;
        if &child.kind == b"mvhd" {
            let body_start = usize::try_from(pos + child.header_len).map_err(|_| not_moov())?;
            let body_end = usize::try_from(end).map_err(|_| not_moov())?;
            return parse_mvhd(&moov[body_start..body_end]);
        }
        pos = end;
    }
    Err(VideoError::corrupt(
        "its movie box (moov) has no movie header (mvhd)",
    ))
}

fn not_moov() -> VideoError {
    VideoError::corrupt("what should be its movie box (moov) is not one")
}

/// The body of an `mvhd` box (after its 8- or 16-byte box header).
fn parse_mvhd(body: &[u8]) -> Result<Mp4Info, VideoError> {
    let short = || VideoError::corrupt("its movie header (mvhd) is too short");
    let version = *body.first().ok_or_else(short)?;
    // Version and flags take 4 bytes; the fields follow.
    let (creation, timescale, duration, unknown_duration) = match version {
        0 => (
            u64::from(be_u32(body, 4).ok_or_else(short)?),
            be_u32(body, 12).ok_or_else(short)?,
            u64::from(be_u32(body, 16).ok_or_else(short)?),
            u64::from(u32::MAX),
        ),
        1 => (
            be_u64(body, 4).ok_or_else(short)?,
            be_u32(body, 20).ok_or_else(short)?,
            be_u64(body, 24).ok_or_else(short)?,
            u64::MAX,
        ),
        v => {
            return Err(VideoError::corrupt(format!(
                "its movie header (mvhd) has unknown version {v}"
            )));
        }
    };
    let duration_ms = (timescale != 0 && duration != 0 && duration != unknown_duration)
        .then(|| u128::from(duration) * 1000 / u128::from(timescale))
        .and_then(|ms| u64::try_from(ms).ok());
    let created_at = (creation != 0)
        .then(|| i64::try_from(creation).ok())
        .flatten()
        .and_then(|secs| secs.checked_sub(MP4_EPOCH_OFFSET))
        .and_then(|unix| DateTime::from_timestamp(unix, 0));
    Ok(Mp4Info {
        duration_ms,
        created_at,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    // Made with the ffmpeg commands in tests/fixtures/README.md.
    const PORCH: &[u8] = include_bytes!("../../tests/fixtures/porch-cam.mp4");
    const DRIVEWAY: &[u8] = include_bytes!("../../tests/fixtures/driveway-cam.mp4");
    const GARAGE: &[u8] = include_bytes!("../../tests/fixtures/garage-cam.webm");
    const STREET: &[u8] = include_bytes!("../../tests/fixtures/street-cam.ts");
    const NOT_A_VIDEO: &[u8] = include_bytes!("../../tests/fixtures/not-a-video.mp4");

    fn head(file: &[u8]) -> &[u8] {
        &file[..file.len().min(SNIFF_BYTES)]
    }

    fn sniff_file(file: &[u8]) -> Result<Container, VideoError> {
        sniff(head(file), file.len() as u64)
    }

    /// Drives a walker over `file` as the app layer does over a blob.
    fn walk(file: &[u8]) -> Result<Mp4Layout, VideoError> {
        walk_claiming(file, file.len() as u64)
    }

    /// As `walk`, with a stated length that may disagree with the bytes there are.
    fn walk_claiming(file: &[u8], file_len: u64) -> Result<Mp4Layout, VideoError> {
        let mut walker = Mp4Walker::new(file_len);
        let mut reads = 0;
        while let Some(range) = walker.next_read() {
            reads += 1;
            assert!(reads <= MAX_TOP_LEVEL_BOXES + 1, "the walk does not end");
            assert!(range.end - range.start <= 16);
            let start = usize::try_from(range.start).unwrap().min(file.len());
            let end = usize::try_from(range.end).unwrap().min(file.len());
            walker.feed(&file[start..end])?;
        }
        walker.finish()
    }

    fn moov_of(file: &[u8]) -> &[u8] {
        let layout = walk(file).unwrap();
        &file[layout.moov.start as usize..layout.moov.end as usize]
    }

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(payload.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    fn large_bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = 1_u32.to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(&(payload.len() as u64 + 16).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let mut payload = major.to_vec();
        payload.extend_from_slice(&0x200_u32.to_be_bytes());
        for brand in compatible {
            payload.extend_from_slice(*brand);
        }
        bx(b"ftyp", &payload)
    }

    fn mvhd_v0(creation: u32, timescale: u32, duration: u32) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 0];
        for field in [creation, creation, timescale, duration] {
            body.extend_from_slice(&field.to_be_bytes());
        }
        // rate, volume, reserved, matrix, pre_defined, next_track_ID: not read.
        body.extend_from_slice(&[0; 80]);
        bx(b"mvhd", &body)
    }

    fn mvhd_v1(creation: u64, timescale: u32, duration: u64) -> Vec<u8> {
        let mut body = vec![1, 0, 0, 0];
        body.extend_from_slice(&creation.to_be_bytes());
        body.extend_from_slice(&creation.to_be_bytes());
        body.extend_from_slice(&timescale.to_be_bytes());
        body.extend_from_slice(&duration.to_be_bytes());
        body.extend_from_slice(&[0; 80]);
        bx(b"mvhd", &body)
    }

    fn moov_with(children: &[Vec<u8>]) -> Vec<u8> {
        bx(b"moov", &children.concat())
    }

    fn minimal_mp4() -> Vec<u8> {
        [
            ftyp(b"isom", &[b"isom", b"avc1"]),
            moov_with(&[mvhd_v0(0, 1000, 1000)]),
            bx(b"mdat", &[1, 2, 3, 4]),
        ]
        .concat()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn is_truncated(r: &Result<Mp4Layout, VideoError>) -> bool {
        matches!(r, Err(VideoError::Truncated { .. }))
    }

    // --- sniffing: fixtures

    #[test]
    fn fixtures_are_recognised() {
        assert_eq!(sniff_file(PORCH), Ok(Container::Mp4));
        assert_eq!(sniff_file(DRIVEWAY), Ok(Container::Mp4));
        assert_eq!(sniff_file(GARAGE), Ok(Container::WebM));
        assert_eq!(sniff_file(STREET), Ok(Container::MpegTs));
    }

    #[test]
    fn a_text_file_named_mp4_is_refused_as_text() {
        let err = sniff_file(NOT_A_VIDEO).unwrap_err();
        assert_eq!(
            err.message(),
            "the file is not a video: it starts with text, not an MP4, QuickTime, \
             Matroska/WebM or MPEG-TS container"
        );
    }

    #[test]
    fn content_types_and_extensions() {
        let all = [
            (Container::Mp4, "video/mp4", "mp4"),
            (Container::QuickTime, "video/quicktime", "mov"),
            (Container::Matroska, "video/x-matroska", "mkv"),
            (Container::WebM, "video/webm", "webm"),
            (Container::MpegTs, "video/mp2t", "ts"),
        ];
        for (c, mime, ext) in all {
            assert_eq!(c.content_type(), mime);
            assert_eq!(c.extension(), ext);
        }
        assert!(Container::QuickTime.is_iso_bmff() && !Container::WebM.is_iso_bmff());
    }

    // --- sniffing: MP4 and QuickTime by hand

    #[test]
    fn ftyp_brands_decide_mp4_or_quicktime() {
        for major in [
            b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ", b"3gp4",
        ] {
            let file = [ftyp(major, &[b"isom"]), bx(b"mdat", &[0; 64])].concat();
            assert_eq!(sniff_file(&file), Ok(Container::Mp4), "{major:?}");
        }
        let mov = [ftyp(b"qt  ", &[b"qt  "]), bx(b"wide", &[])].concat();
        assert_eq!(sniff_file(&mov), Ok(Container::QuickTime));
        // An unknown major brand whose only compatible brand is QuickTime.
        let mov = [ftyp(b"abcd", &[b"qt  "]), bx(b"wide", &[])].concat();
        assert_eq!(sniff_file(&mov), Ok(Container::QuickTime));
        let mixed = [ftyp(b"abcd", &[b"qt  ", b"isom"]), bx(b"wide", &[])].concat();
        assert_eq!(sniff_file(&mixed), Ok(Container::Mp4));
    }

    #[test]
    fn image_and_audio_brands_are_refused() {
        for major in [b"heic", b"mif1", b"avif", b"M4A "] {
            let file = [ftyp(major, &[major]), bx(b"mdat", &[0; 64])].concat();
            assert!(
                matches!(sniff_file(&file), Err(VideoError::NotVideo { .. })),
                "{major:?}"
            );
        }
    }

    #[test]
    fn a_broken_ftyp_is_refused() {
        // Too short to hold a brand.
        let mut short = 12_u32.to_be_bytes().to_vec();
        short.extend_from_slice(b"ftypisom");
        assert!(matches!(
            sniff_file(&short),
            Err(VideoError::Corrupt { .. })
        ));
        // Longer than the file.
        let mut long = ftyp(b"isom", &[b"isom"]);
        long[..4].copy_from_slice(&4000_u32.to_be_bytes());
        assert!(matches!(
            sniff_file(&long),
            Err(VideoError::Truncated { .. })
        ));
    }

    #[test]
    fn old_quicktime_without_ftyp_is_recognised() {
        let file = [bx(b"wide", &[]), bx(b"mdat", &[0; 32]), bx(b"moov", &[])].concat();
        assert_eq!(sniff_file(&file), Ok(Container::QuickTime));
        let file = [bx(b"moov", &[0; 24]), bx(b"mdat", &[0; 32])].concat();
        assert_eq!(sniff_file(&file), Ok(Container::QuickTime));
        let file = [large_bx(b"mdat", &[0; 32]), bx(b"moov", &[])].concat();
        assert_eq!(sniff_file(&file), Ok(Container::QuickTime));
    }

    #[test]
    fn a_leading_atom_of_insane_size_is_not_quicktime() {
        let mut file = [bx(b"free", &[0; 8]), bx(b"mdat", &[0; 32])].concat();
        file[..4].copy_from_slice(&1_000_000_u32.to_be_bytes());
        assert!(sniff_file(&file).is_err());
        // Smaller than its header.
        file[..4].copy_from_slice(&4_u32.to_be_bytes());
        assert!(sniff_file(&file).is_err());
        // Followed by something that is no atom header.
        let file = [bx(b"free", &[0; 8]), vec![0, 0, 0, 9, 0xff, 0, 0x80, 1]].concat();
        assert!(sniff_file(&file).is_err());
    }

    // --- sniffing: Matroska and WebM by hand

    /// An EBML header with the given DocType, sizes in their shortest form.
    fn ebml(doc_type: &[u8]) -> Vec<u8> {
        let mut children = vec![0x42, 0x86, 0x81, 0x01]; // EBMLVersion 1
        children.extend_from_slice(&[0x42, 0x82, 0x80 | doc_type.len() as u8]);
        children.extend_from_slice(doc_type);
        let mut out = vec![0x1a, 0x45, 0xdf, 0xa3, 0x80 | children.len() as u8];
        out.extend_from_slice(&children);
        // Segment, unknown size.
        out.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff]);
        out.extend_from_slice(&[0xff, 0xff]);
        out
    }

    #[test]
    fn ebml_doc_type_decides_matroska_or_webm() {
        assert_eq!(sniff_file(&ebml(b"webm")), Ok(Container::WebM));
        assert_eq!(sniff_file(&ebml(b"matroska")), Ok(Container::Matroska));
        // NUL padding is allowed in EBML strings.
        assert_eq!(sniff_file(&ebml(b"webm\0\0")), Ok(Container::WebM));
        let err = sniff_file(&ebml(b"mydoc")).unwrap_err();
        assert!(err.message().contains("\"mydoc\""), "{err}");
    }

    #[test]
    fn ebml_sizes_of_every_length_are_read() {
        // The header size as an 8-byte vint, DocType's size as a 4-byte one, and a 2-byte ID
        // child before it with a 2-byte size.
        let mut children = vec![0x42, 0xf7, 0x40, 0x01, 0x01]; // EBMLReadVersion, size 1 in 2 bytes
        children.extend_from_slice(&[0x42, 0x82, 0x10, 0x00, 0x00, 0x08]);
        children.extend_from_slice(b"matroska");
        let mut file = vec![0x1a, 0x45, 0xdf, 0xa3, 0x01, 0, 0, 0, 0, 0, 0];
        file.push(children.len() as u8);
        file.extend_from_slice(&children);
        assert_eq!(sniff_file(&file), Ok(Container::Matroska));
    }

    #[test]
    fn broken_ebml_headers_are_refused() {
        // No DocType.
        let file = [0x1a, 0x45, 0xdf, 0xa3, 0x84, 0x42, 0x86, 0x81, 0x01];
        assert!(sniff_file(&file).is_err());
        // Unknown (all ones) header size.
        let file = [
            0x1a, 0x45, 0xdf, 0xa3, 0xff, 0x42, 0x82, 0x84, b'w', b'e', b'b', b'm',
        ];
        assert!(sniff_file(&file).is_err());
        // A child running past the header.
        let file = [
            0x1a, 0x45, 0xdf, 0xa3, 0x87, 0x42, 0x82, 0x88, b'w', b'e', b'b', b'm',
        ];
        assert!(sniff_file(&file).is_err());
        // A header longer than the file.
        let file = [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82];
        assert!(matches!(
            sniff_file(&file),
            Err(VideoError::Truncated { .. })
        ));
        // A zero byte where a vint should start.
        let file = [0x1a, 0x45, 0xdf, 0xa3, 0x00, 0x42, 0x82];
        assert!(sniff_file(&file).is_err());
    }

    // --- sniffing: MPEG-TS by hand

    fn ts_packets(count: usize, packet: usize, sync_at: usize) -> Vec<u8> {
        let mut out = vec![0xff_u8; count * packet];
        for p in 0..count {
            out[p * packet + sync_at] = 0x47;
        }
        out
    }

    #[test]
    fn mpeg_ts_and_m2ts_are_recognised() {
        assert_eq!(sniff_file(&ts_packets(10, 188, 0)), Ok(Container::MpegTs));
        assert_eq!(sniff_file(&ts_packets(10, 192, 4)), Ok(Container::MpegTs));
        assert_eq!(sniff_file(&ts_packets(3, 188, 0)), Ok(Container::MpegTs));
    }

    #[test]
    fn mpeg_ts_out_of_sync_or_too_short_is_refused() {
        let mut broken = ts_packets(10, 188, 0);
        broken[3 * 188] = 0x00;
        assert!(sniff_file(&broken).is_err());
        let err = sniff_file(&ts_packets(2, 188, 0)).unwrap_err();
        assert!(err.message().contains("too short"), "{err}");
        assert!(sniff_file(&[0x47]).is_err());
    }

    // --- sniffing: not videos

    #[test]
    fn non_videos_are_refused_with_a_reason() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "it is empty"),
            (b"hello, world\nthis is text\n", "it starts with text"),
            (b"Good morning", "it starts with text"),
            (b"\xef\xbb\xbfplain text with a BOM", "it starts with text"),
            (b"{\"video\": true}", "JSON"),
            (b"  <!DOCTYPE html><html><body>", "an HTML page"),
            (b"<html lang=\"en\">", "an HTML page"),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "a PNG image"),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", "a JPEG image"),
            (b"%PDF-1.7\n", "a PDF document"),
            (&[0; 600], "only zero bytes"),
            (
                &[0x13, 0x9c, 0xfe, 0x02, 0x77, 0x81, 0x00, 0xd4, 0x5a],
                "first bytes",
            ),
        ];
        for (bytes, expected) in cases {
            let err = sniff(bytes, bytes.len() as u64).unwrap_err();
            assert!(matches!(err, VideoError::NotVideo { .. }), "{err:?}");
            assert!(err.message().contains(expected), "{err} for {bytes:?}");
        }
    }

    #[test]
    fn other_video_formats_are_named() {
        let mut avi = b"RIFF\0\0\0\0AVI LIST".to_vec();
        avi.extend_from_slice(&[0; 64]);
        let err = sniff_file(&avi).unwrap_err();
        assert_eq!(
            err,
            VideoError::Unsupported {
                format: "an AVI video"
            }
        );
        assert!(
            err.message()
                .starts_with("the file is an AVI video, which is not accepted")
        );
    }

    // --- the walker

    #[test]
    fn fixtures_walk_to_a_layout() {
        let porch = walk(PORCH).unwrap();
        assert!(porch.faststart && porch.has_mdat);
        assert_eq!(&PORCH[porch.moov.start as usize + 4..][..4], b"moov");
        let driveway = walk(DRIVEWAY).unwrap();
        assert!(!driveway.faststart && driveway.has_mdat);
        assert_eq!(driveway.moov.end, DRIVEWAY.len() as u64);
    }

    #[test]
    fn the_walker_asks_for_each_box_header_in_turn() {
        let file = minimal_mp4();
        let ftyp_len = ftyp(b"isom", &[b"isom", b"avc1"]).len() as u64;
        let mut walker = Mp4Walker::new(file.len() as u64);
        assert_eq!(walker.next_read(), Some(0..16));
        walker.feed(&file[..16]).unwrap();
        assert_eq!(walker.next_read(), Some(ftyp_len..ftyp_len + 16));
        let moov_len = moov_with(&[mvhd_v0(0, 1000, 1000)]).len() as u64;
        walker.feed(&file[ftyp_len as usize..][..16]).unwrap();
        // The last box is 12 bytes: only those are asked for.
        let mdat_at = ftyp_len + moov_len;
        assert_eq!(walker.next_read(), Some(mdat_at..mdat_at + 12));
        walker.feed(&file[mdat_at as usize..]).unwrap();
        assert_eq!(walker.next_read(), None);
        let layout = walker.finish().unwrap();
        assert_eq!(layout.moov, ftyp_len..ftyp_len + moov_len);
    }

    #[test]
    fn truncated_fixtures_are_refused_as_truncated() {
        // porch-cam (fast start): ftyp 0..32, moov 32..1510, free 1510..1518, mdat 1518..71136.
        let porch = walk(PORCH).unwrap();
        assert_eq!(porch.moov, 32..1510);
        for cut in [40_000, PORCH.len() - 1, 800, 33, 1514, 1522, 5] {
            assert!(is_truncated(&walk(&PORCH[..cut])), "porch cut at {cut}");
        }
        // driveway-cam (moov last): ftyp 0..32, free 32..40, mdat 40..58924, moov 58924..60466.
        let driveway = walk(DRIVEWAY).unwrap();
        assert_eq!(driveway.moov, 58_924..60_466);
        for cut in [30_000, 58_924, 58_930, 60_000, DRIVEWAY.len() - 1] {
            assert!(
                is_truncated(&walk(&DRIVEWAY[..cut])),
                "driveway cut at {cut}"
            );
        }
    }

    #[test]
    fn a_blob_shorter_than_its_stated_length_is_truncated() {
        let file = minimal_mp4();
        let result = walk_claiming(&file[..20], file.len() as u64);
        assert!(is_truncated(&result), "{result:?}");
    }

    #[test]
    fn a_64_bit_largesize_box_is_followed() {
        let file = [
            ftyp(b"mp42", &[b"isom"]),
            large_bx(b"mdat", &[7; 100]),
            large_bx(b"moov", &mvhd_v0(0, 600, 600)),
        ]
        .concat();
        let layout = walk(&file).unwrap();
        assert_eq!(layout.moov.end, file.len() as u64);
        let moov = &file[layout.moov.start as usize..];
        assert_eq!(parse_moov(moov).unwrap().duration_ms, Some(1000));
        // A largesize past the end of the file.
        let mut bad = file.clone();
        let at = ftyp(b"mp42", &[b"isom"]).len() + 8;
        bad[at..at + 8].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(is_truncated(&walk(&bad)));
    }

    #[test]
    fn a_size_of_zero_runs_to_the_end_of_the_file() {
        let mut mdat = bx(b"mdat", &[9; 50]);
        mdat[..4].copy_from_slice(&0_u32.to_be_bytes());
        let file = [ftyp(b"isom", &[]), moov_with(&[mvhd_v0(0, 1, 1)]), mdat].concat();
        let layout = walk(&file).unwrap();
        assert!(layout.faststart);
    }

    #[test]
    fn a_box_smaller_than_its_header_is_corrupt() {
        for size in [2_u32, 7] {
            let mut file = minimal_mp4();
            let at = ftyp(b"isom", &[b"isom", b"avc1"]).len();
            file[at..at + 4].copy_from_slice(&size.to_be_bytes());
            assert!(matches!(walk(&file), Err(VideoError::Corrupt { .. })));
        }
        // A largesize smaller than the 16-byte header.
        let mut file = [ftyp(b"isom", &[]), large_bx(b"mdat", &[1; 8])].concat();
        let at = ftyp(b"isom", &[]).len() + 8;
        file[at..at + 8].copy_from_slice(&12_u64.to_be_bytes());
        assert!(matches!(walk(&file), Err(VideoError::Corrupt { .. })));
    }

    #[test]
    fn garbage_where_a_box_should_be_is_corrupt() {
        let mut file = minimal_mp4();
        file.extend_from_slice(&[0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef]);
        assert!(matches!(walk(&file), Err(VideoError::Corrupt { .. })));
    }

    #[test]
    fn moov_and_mdat_are_required_and_moov_only_once() {
        let no_moov = [ftyp(b"isom", &[]), bx(b"mdat", &[1; 8])].concat();
        assert!(is_truncated(&walk(&no_moov)));
        let no_mdat = [ftyp(b"isom", &[]), moov_with(&[mvhd_v0(0, 1, 1)])].concat();
        let err = walk(&no_mdat).unwrap_err();
        assert!(err.message().contains("no media data"), "{err}");
        let two = [minimal_mp4(), moov_with(&[mvhd_v0(0, 1, 1)])].concat();
        let err = walk(&two).unwrap_err();
        assert!(err.message().contains("more than one movie box"), "{err}");
    }

    #[test]
    fn the_box_count_is_capped() {
        let cap = MAX_TOP_LEVEL_BOXES as usize;
        let ok = [
            bx(b"free", &[]).repeat(cap - 2),
            moov_with(&[]),
            bx(b"mdat", &[1]),
        ]
        .concat();
        assert!(walk(&ok).is_ok());
        let over = [
            bx(b"free", &[]).repeat(cap - 1),
            moov_with(&[]),
            bx(b"mdat", &[1]),
        ]
        .concat();
        assert!(matches!(walk(&over), Err(VideoError::TooLarge { .. })));
    }

    #[test]
    fn the_moov_size_is_capped() {
        let mut file = [ftyp(b"isom", &[]), bx(b"mdat", &[1; 8])].concat();
        let mut moov_header = 1_u32.to_be_bytes().to_vec();
        moov_header.extend_from_slice(b"moov");
        moov_header.extend_from_slice(&(MAX_MOOV_BYTES + 1).to_be_bytes());
        file.extend_from_slice(&moov_header);
        // The stated length covers the moov: the cap, not truncation, refuses it.
        let file_len = (file.len() - 16) as u64 + MAX_MOOV_BYTES + 1;
        let result = walk_claiming(&file, file_len);
        assert!(
            matches!(result, Err(VideoError::TooLarge { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn errors_are_final_and_misuse_is_reported() {
        let file = [ftyp(b"isom", &[]), vec![0, 0, 0, 2]].concat();
        let mut walker = Mp4Walker::new(file.len() as u64);
        walker.feed(&file[..16]).unwrap();
        let err = walker.feed(&file[20..]).unwrap_err();
        assert_eq!(walker.next_read(), None);
        assert_eq!(walker.feed(&[]), Err(err.clone()));
        assert_eq!(walker.finish(), Err(err));

        let file = minimal_mp4();
        let walker = Mp4Walker::new(file.len() as u64);
        assert!(walker.finish().unwrap_err().is_caller_bug());
        let mut walker = Mp4Walker::new(0);
        assert_eq!(walker.next_read(), None);
        assert!(walker.feed(&[]).unwrap_err().is_caller_bug());
        assert!(matches!(
            Mp4Walker::new(0).finish(),
            Err(VideoError::NotVideo { .. })
        ));
    }

    // --- the movie header

    #[test]
    fn fixture_duration_and_creation_time_match_ffprobe() {
        // `ffprobe -show_entries format=duration:format_tags=creation_time` reports
        // duration=6.000000 for both clips and creation_time 2026-11-20T21:30:00.000000Z
        // (porch) and 2026-11-20T22:05:00.000000Z (driveway); `ffprobe -v trace` shows mvhd
        // time scale 1000, duration 6000.
        let porch = parse_moov(moov_of(PORCH)).unwrap();
        assert_eq!(porch.duration_ms, Some(6000));
        assert_eq!(porch.created_at, Some(utc("2026-11-20T21:30:00Z")));
        let driveway = parse_moov(moov_of(DRIVEWAY)).unwrap();
        assert_eq!(driveway.duration_ms, Some(6000));
        assert_eq!(driveway.created_at, Some(utc("2026-11-20T22:05:00Z")));
    }

    #[test]
    fn mvhd_version_0_is_read() {
        // 3_878_055_000 s after 1904-01-01 is 2026-11-20T21:30:00Z.
        let moov = moov_with(&[
            bx(b"iods", &[0; 8]),
            mvhd_v0(3_878_055_000, 90_000, 123_456),
        ]);
        let info = parse_moov(&moov).unwrap();
        assert_eq!(info.created_at, Some(utc("2026-11-20T21:30:00Z")));
        assert_eq!(info.duration_ms, Some(1371)); // 123456 / 90000 s, rounded down
    }

    #[test]
    fn mvhd_version_1_is_read() {
        let moov = moov_with(&[mvhd_v1(2_082_844_800, 48_000, 48_000 * 3600 * 30)]);
        let info = parse_moov(&moov).unwrap();
        assert_eq!(info.created_at, Some(utc("1970-01-01T00:00:00Z")));
        assert_eq!(info.duration_ms, Some(30 * 3600 * 1000));
        // In a largesize moov, with a largesize mvhd.
        let mut mvhd = mvhd_v1(2_082_844_801, 1000, 5);
        let body = mvhd.split_off(8);
        let moov = large_bx(b"moov", &large_bx(b"mvhd", &body));
        let info = parse_moov(&moov).unwrap();
        assert_eq!(info.created_at, Some(utc("1970-01-01T00:00:01Z")));
        assert_eq!(info.duration_ms, Some(5));
    }

    #[test]
    fn unknown_values_are_none() {
        for moov in [
            moov_with(&[mvhd_v0(0, 0, 1000)]),
            moov_with(&[mvhd_v0(0, 1000, u32::MAX)]),
            moov_with(&[mvhd_v0(0, 1000, 0)]),
            moov_with(&[mvhd_v1(0, 1000, u64::MAX)]),
            moov_with(&[mvhd_v1(u64::MAX, 1, u64::MAX - 1)]),
        ] {
            let info = parse_moov(&moov).unwrap();
            assert_eq!(info.created_at, None);
            assert_eq!(info.duration_ms, None);
        }
    }

    #[test]
    fn broken_movie_boxes_are_corrupt() {
        let corrupt = |moov: &[u8]| matches!(parse_moov(moov), Err(VideoError::Corrupt { .. }));
        assert!(corrupt(&moov_with(&[bx(b"trak", &[0; 16])])), "no mvhd");
        assert!(corrupt(&moov_with(&[])), "empty moov");
        assert!(corrupt(&bx(b"free", &mvhd_v0(0, 1, 1))), "not a moov");
        assert!(corrupt(&[]), "nothing");
        let mut v2 = mvhd_v0(0, 1, 1);
        v2[8] = 2;
        assert!(corrupt(&moov_with(&[v2])), "unknown version");
        assert!(corrupt(&moov_with(&[bx(b"mvhd", &[0; 10])])), "short mvhd");
        // A child running past the moov.
        let mut moov = moov_with(&[mvhd_v0(0, 1, 1)]);
        moov[8..12].copy_from_slice(&500_u32.to_be_bytes());
        assert!(corrupt(&moov));
        // The moov's own size disagrees with the bytes given.
        let moov = moov_with(&[mvhd_v0(0, 1, 1)]);
        assert!(parse_moov(&moov[..moov.len() - 1]).is_err());
    }

    // --- nothing panics or spins on hostile input

    mod hostile {
        use super::*;
        use proptest::prelude::*;

        fn boxes() -> impl Strategy<Value = Vec<u8>> {
            let kinds = prop_oneof![
                Just(*b"ftyp"),
                Just(*b"moov"),
                Just(*b"mdat"),
                Just(*b"free"),
                Just(*b"uuid"),
                any::<[u8; 4]>(),
            ];
            let size = prop_oneof![Just(0_u32), Just(1), 0_u32..64, any::<u32>()];
            let one = (
                size,
                kinds,
                any::<u64>(),
                proptest::collection::vec(any::<u8>(), 0..40),
            )
                .prop_map(|(size, kind, large, tail)| {
                    let mut out = size.to_be_bytes().to_vec();
                    out.extend_from_slice(&kind);
                    if size == 1 {
                        out.extend_from_slice(&(large % 200).to_be_bytes());
                    }
                    out.extend_from_slice(&tail);
                    out
                });
            proptest::collection::vec(one, 0..12).prop_map(|v| v.concat())
        }

        proptest! {
            #[test]
            fn sniff_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1500),
                                  extra in 0_u64..10_000) {
                let _ = sniff(&bytes, bytes.len() as u64);
                let _ = sniff(&bytes, bytes.len() as u64 + extra);
            }

            #[test]
            fn sniff_never_panics_on_ebml(tail in proptest::collection::vec(any::<u8>(), 0..80)) {
                let bytes = [&[0x1a, 0x45, 0xdf, 0xa3][..], &tail].concat();
                let _ = sniff(&bytes, bytes.len() as u64);
            }

            #[test]
            fn the_walker_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600),
                                       extra in 0_u64..100) {
                let _ = walk(&bytes);
                let _ = walk_claiming(&bytes, bytes.len() as u64 + extra);
            }

            #[test]
            fn the_walker_never_panics_on_box_soup(file in boxes()) {
                let _ = sniff(head(&file), file.len() as u64);
                if let Ok(layout) = walk(&file) {
                    let moov = &file[layout.moov.start as usize..layout.moov.end as usize];
                    let _ = parse_moov(moov);
                }
            }

            #[test]
            fn parse_moov_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                       children in boxes()) {
                let _ = parse_moov(&bytes);
                let _ = parse_moov(&bx(b"moov", &bytes));
                let _ = parse_moov(&bx(b"moov", &children));
            }
        }
    }
}
