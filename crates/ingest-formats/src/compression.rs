//! Compressed input decoded on the fly, with a guard against decompression bombs.
//!
//! The codec comes from the file name's extension and is confirmed by the stream's magic
//! bytes; a stream is never decoded whole, so memory stays flat.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A stream compression wrapped around a whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

impl Compression {
    /// The codec a file name's last extension names, and the name without it
    /// (`orders.csv.gz` → `Gzip`, `orders.csv`).
    pub fn from_name(name: &str) -> (Compression, &str) {
        let lower = name.to_ascii_lowercase();
        for (ext, c) in [
            (".gz", Compression::Gzip),
            (".gzip", Compression::Gzip),
            (".zst", Compression::Zstd),
            (".zstd", Compression::Zstd),
            (".bz2", Compression::Bzip2),
            (".xz", Compression::Xz),
        ] {
            if lower.ends_with(ext) {
                return (c, &name[..name.len() - ext.len()]);
            }
        }
        (Compression::None, name)
    }

    /// The codec whose magic bytes start `head`, if any.
    pub fn from_magic(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Some(Compression::Bzip2)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }

    pub fn parse(s: &str) -> Option<Compression> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(Compression::None),
            "gzip" | "gz" => Some(Compression::Gzip),
            "zstd" | "zst" => Some(Compression::Zstd),
            "bzip2" | "bz2" => Some(Compression::Bzip2),
            "xz" => Some(Compression::Xz),
            _ => None,
        }
    }
}

/// How far a compressed stream may expand before it is taken for a bomb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecompressLimits {
    /// Decompressed bytes allowed in all.
    pub max_bytes: u64,
    /// Decompressed bytes allowed per compressed byte, checked once `RATIO_GRACE` bytes
    /// came out (real data files compress 5-50x; a bomb of zeros compresses 1000x).
    pub max_ratio: u64,
}

impl Default for DecompressLimits {
    fn default() -> Self {
        DecompressLimits {
            max_bytes: 1 << 40,
            max_ratio: 250,
        }
    }
}

/// The ratio is not judged on the first bytes out: a small file of repeated values may
/// well expand far at first.
const RATIO_GRACE: u64 = 16 << 20;

/// Why a compressed stream was stopped.
#[derive(Debug, thiserror::Error)]
pub enum BombError {
    #[error(
        "{codec} stream expanded past {limit} bytes (--max-decompressed-bytes); refusing a possible decompression bomb"
    )]
    TooLarge { codec: &'static str, limit: u64 },
    #[error(
        "{codec} stream expanded {ratio}:1 after {out} bytes, over the limit of {limit}:1 (--max-compression-ratio); refusing a possible decompression bomb"
    )]
    Ratio {
        codec: &'static str,
        ratio: u64,
        out: u64,
        limit: u64,
    },
}

/// Compressed bytes read so far, shared with whoever reports progress.
#[derive(Debug, Clone, Default)]
pub struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn add(&self, n: usize) {
        self.0.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A reader that counts the bytes it passes on.
pub struct Counted<R> {
    inner: R,
    count: ByteCounter,
}

impl<R: Read> Counted<R> {
    pub fn new(inner: R, count: ByteCounter) -> Self {
        Counted { inner, count }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.add(n);
        Ok(n)
    }
}

/// Wraps `reader` in the codec's decoder (and the bomb guard). `compressed` must count the
/// bytes `reader` yields (wrap it in [`Counted`]); it is how the ratio is judged.
pub fn decompress(
    reader: Box<dyn Read + Send>,
    codec: Compression,
    limits: DecompressLimits,
    compressed: ByteCounter,
) -> io::Result<Box<dyn Read + Send>> {
    let decoder: Box<dyn Read + Send> = match codec {
        Compression::None => return Ok(reader),
        // Multi-member: `cat a.gz b.gz` is a valid gzip file, and pigz/bgzip write several.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(reader)?),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(reader)),
        // lzma-rust2 is pure Rust: xz2 would build liblzma from C.
        Compression::Xz => Box::new(lzma_rust2::XzReader::new(reader, true)),
    };
    Ok(Box::new(BombGuard {
        inner: decoder,
        codec,
        limits,
        compressed,
        out: 0,
    }))
}

struct BombGuard {
    inner: Box<dyn Read + Send>,
    codec: Compression,
    limits: DecompressLimits,
    compressed: ByteCounter,
    out: u64,
}

impl Read for BombGuard {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        let codec = self.codec.name();
        if self.out > self.limits.max_bytes {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                BombError::TooLarge {
                    codec,
                    limit: self.limits.max_bytes,
                },
            ));
        }
        if self.out > RATIO_GRACE {
            let ratio = self.out / self.compressed.get().max(1);
            if ratio > self.limits.max_ratio {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    BombError::Ratio {
                        codec,
                        ratio,
                        out: self.out,
                        limit: self.limits.max_ratio,
                    },
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(
        bytes: Vec<u8>,
        codec: Compression,
        limits: DecompressLimits,
    ) -> io::Result<Vec<u8>> {
        let count = ByteCounter::default();
        let src = Box::new(Counted::new(io::Cursor::new(bytes), count.clone()));
        let mut r = decompress(src, codec, limits, count)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn names_and_magic() {
        assert_eq!(
            Compression::from_name("a.csv.GZ"),
            (Compression::Gzip, "a.csv")
        );
        assert_eq!(
            Compression::from_name("a.ndjson.zst"),
            (Compression::Zstd, "a.ndjson")
        );
        assert_eq!(
            Compression::from_name("a.csv"),
            (Compression::None, "a.csv")
        );
        assert_eq!(
            Compression::from_magic(&gzip(b"x")),
            Some(Compression::Gzip)
        );
        assert_eq!(Compression::from_magic(b"BZh9"), Some(Compression::Bzip2));
        assert_eq!(
            Compression::from_magic(b"\xfd7zXZ\x00\x00"),
            Some(Compression::Xz)
        );
        assert_eq!(
            Compression::from_name("a.json.xz"),
            (Compression::Xz, "a.json")
        );
        assert_eq!(Compression::from_magic(b"id,name"), None);
    }

    #[test]
    fn gzip_round_trip_and_concatenated_members() {
        let mut two = gzip(b"a,b\n1,2\n");
        two.extend(gzip(b"3,4\n"));
        let out = read_all(two, Compression::Gzip, DecompressLimits::default()).unwrap();
        assert_eq!(out, b"a,b\n1,2\n3,4\n");
    }

    #[test]
    fn zstd_round_trip() {
        let z = zstd::encode_all(&b"x,y\n"[..], 3).unwrap();
        let out = read_all(z, Compression::Zstd, DecompressLimits::default()).unwrap();
        assert_eq!(out, b"x,y\n");
    }

    #[test]
    fn a_bomb_is_stopped_by_ratio_and_by_size() {
        let bomb = gzip(&vec![0u8; 24 << 20]);
        let err =
            read_all(bomb.clone(), Compression::Gzip, DecompressLimits::default()).unwrap_err();
        assert!(err.to_string().contains("--max-compression-ratio"), "{err}");
        let limits = DecompressLimits {
            max_bytes: 1 << 20,
            max_ratio: u64::MAX,
        };
        let err = read_all(bomb, Compression::Gzip, limits).unwrap_err();
        assert!(
            err.to_string().contains("--max-decompressed-bytes"),
            "{err}"
        );
    }

    #[test]
    fn a_corrupt_stream_is_an_error() {
        let mut z = gzip(b"hello world, hello world");
        let n = z.len();
        z[n / 2] ^= 0xff;
        z.truncate(n - 3);
        assert!(read_all(z, Compression::Gzip, DecompressLimits::default()).is_err());
    }
}
