//! A reader of FLV as the encoder's ffmpeg writes it: the 13-byte file header, then tags.
//! Only what the fan-out needs is parsed (tag type, timestamp, keyframe, sequence header); the
//! tag bytes are kept whole so they can be written out again unchanged.

use std::io::{self, Read};
use std::sync::Arc;

/// FLV file header (9 bytes) plus the first `PreviousTagSize0` (4 bytes).
pub(crate) const FILE_HEADER_LEN: usize = 13;
/// Largest tag body accepted (the field is 24 bits; anything near it is corrupt input here).
const MAX_TAG_BODY: usize = 16 * 1024 * 1024 - 1;

/// What a tag carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagKind {
    Audio,
    Video,
    /// AMF script data (`onMetaData`).
    Script,
    Other(u8),
}

/// One FLV tag: 11-byte header, body, 4-byte trailing `PreviousTagSize`, as read.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub kind: TagKind,
    /// Decode timestamp in milliseconds (24 bits + 8 extended bits).
    pub ts_ms: u32,
    /// A video tag whose frame type is 1 (keyframe) and that is not a sequence header.
    pub keyframe: bool,
    /// An AVC decoder configuration record or an AAC AudioSpecificConfig.
    pub sequence_header: bool,
    /// The whole tag as it appeared in the stream.
    pub bytes: Arc<[u8]>,
}

impl Tag {
    /// Parses one tag from its header + body + trailer bytes.
    pub(crate) fn parse(bytes: Vec<u8>) -> io::Result<Tag> {
        if bytes.len() < 15 {
            return Err(bad("FLV tag shorter than its header"));
        }
        let kind = match bytes[0] & 0x1f {
            8 => TagKind::Audio,
            9 => TagKind::Video,
            18 => TagKind::Script,
            other => TagKind::Other(other),
        };
        let ts_ms = u32::from_be_bytes([bytes[7], bytes[4], bytes[5], bytes[6]]);
        let body = &bytes[11..bytes.len() - 4];
        let (keyframe, sequence_header) = match kind {
            // Frame type in the high nibble (1 = key), codec 7 = AVC, then AVCPacketType.
            TagKind::Video if body.len() >= 2 => {
                let avc = body[0] & 0x0f == 7;
                let seq = avc && body[1] == 0;
                (body[0] >> 4 == 1 && !seq, seq)
            }
            // Sound format 10 = AAC, then AACPacketType 0 = AudioSpecificConfig.
            TagKind::Audio if body.len() >= 2 => (false, body[0] >> 4 == 10 && body[1] == 0),
            _ => (false, false),
        };
        Ok(Tag {
            kind,
            ts_ms,
            keyframe,
            sequence_header,
            bytes: bytes.into(),
        })
    }
}

/// Reads the FLV file header, then one tag per [`FlvReader::next_tag`].
pub(crate) struct FlvReader<R> {
    inner: R,
}

impl<R: Read> FlvReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        FlvReader { inner }
    }

    /// The underlying reader.
    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    /// The 13 header bytes (`FLV`, version, flags, offset, `PreviousTagSize0`).
    pub(crate) fn read_header(&mut self) -> io::Result<[u8; FILE_HEADER_LEN]> {
        let mut h = [0u8; FILE_HEADER_LEN];
        self.inner.read_exact(&mut h)?;
        if &h[..3] != b"FLV" {
            return Err(bad("not an FLV stream (no `FLV` signature)"));
        }
        let offset = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) as usize;
        if offset != 9 {
            // A longer header: skip the extra bytes (the stored header then says 9 again would
            // be wrong, so refuse: ffmpeg never writes one).
            return Err(bad("FLV header with an unexpected data offset"));
        }
        Ok(h)
    }

    /// The next tag, `Ok(None)` at a clean end of stream.
    pub(crate) fn next_tag(&mut self) -> io::Result<Option<Tag>> {
        let mut head = [0u8; 11];
        match read_full(&mut self.inner, &mut head)? {
            0 => return Ok(None),
            11 => {}
            _ => return Err(bad("FLV stream ended inside a tag header")),
        }
        let size = u32::from_be_bytes([0, head[1], head[2], head[3]]) as usize;
        if size > MAX_TAG_BODY {
            return Err(bad("FLV tag too large"));
        }
        let mut bytes = Vec::with_capacity(11 + size + 4);
        bytes.extend_from_slice(&head);
        bytes.resize(11 + size + 4, 0);
        self.inner.read_exact(&mut bytes[11..])?;
        Tag::parse(bytes).map(Some)
    }
}

/// Like `read_exact`, but returns how many bytes were read when the stream ends first.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(kind: u8, ts: u32, body: &[u8]) -> Vec<u8> {
        let mut v = vec![kind];
        let n = body.len() as u32;
        v.extend_from_slice(&n.to_be_bytes()[1..]);
        let t = ts.to_be_bytes();
        v.extend_from_slice(&[t[1], t[2], t[3], t[0]]);
        v.extend_from_slice(&[0, 0, 0]);
        v.extend_from_slice(body);
        v.extend_from_slice(&(11 + n).to_be_bytes());
        v
    }

    #[test]
    fn reads_header_and_classifies_tags_with_extended_timestamps() {
        let mut s = b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00".to_vec();
        s.extend(tag(18, 0, b"\x02\x00\x0aonMetaData"));
        s.extend(tag(9, 0, &[0x17, 0, 0, 0, 0, 1]));
        s.extend(tag(8, 0, &[0xaf, 0, 0x11, 0x90]));
        s.extend(tag(9, 0x0123_4567, &[0x17, 1, 0, 0, 0]));
        s.extend(tag(9, 0x0123_4600, &[0x27, 1, 0, 0, 0]));
        s.extend(tag(8, 0x0123_4601, &[0xaf, 1, 0x21]));
        let mut r = FlvReader::new(&s[..]);
        assert_eq!(&r.read_header().unwrap()[..3], b"FLV");
        let tags: Vec<Tag> = std::iter::from_fn(|| r.next_tag().unwrap()).collect();
        let summary: Vec<(TagKind, u32, bool, bool)> = tags
            .iter()
            .map(|t| (t.kind, t.ts_ms, t.keyframe, t.sequence_header))
            .collect();
        assert_eq!(
            summary,
            vec![
                (TagKind::Script, 0, false, false),
                (TagKind::Video, 0, false, true),
                (TagKind::Audio, 0, false, true),
                (TagKind::Video, 0x0123_4567, true, false),
                (TagKind::Video, 0x0123_4600, false, false),
                (TagKind::Audio, 0x0123_4601, false, false),
            ]
        );
        // Tags are kept byte for byte.
        let rebuilt: Vec<u8> = tags.iter().flat_map(|t| t.bytes.iter().copied()).collect();
        assert_eq!(rebuilt, s[13..]);
    }

    #[test]
    fn truncated_and_foreign_input_are_errors() {
        assert!(
            FlvReader::new(&b"RIFF\0\0\0\0\0\0\0\0\0"[..])
                .read_header()
                .is_err()
        );
        let mut s = tag(9, 5, &[0x17, 1, 0]);
        s.truncate(8);
        assert!(FlvReader::new(&s[..]).next_tag().is_err());
        assert!(FlvReader::new(&b""[..]).next_tag().unwrap().is_none());
    }
}
