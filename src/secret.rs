//! Growing buffers of key material without leaving copies behind.
//!
//! `Zeroizing<Vec<u8>>` zeroes its allocation when dropped, but a `Vec` that grows past its
//! capacity (`extend`, `resize`, `push`, `read_to_end`) moves to a new allocation and frees the
//! old one as it is: the bytes written so far stay in freed heap memory. Every buffer that
//! receives key material piece by piece grows through [`extend`] or [`resize`] instead, which
//! move to a larger allocation themselves and zero the old one.

use std::io::Read;

use zeroize::Zeroizing;

/// Appends `data` to `buf`; if `buf` must grow, its old allocation is zeroed.
pub fn extend(buf: &mut Zeroizing<Vec<u8>>, data: &[u8]) {
    reserve(buf, data.len());
    // Within capacity: no reallocation.
    buf.extend_from_slice(data);
}

/// Appends the bytes `data` yields (as `Vec::extend` would); if `buf` must grow, its old
/// allocation is zeroed.
pub fn extend_from_iter(buf: &mut Zeroizing<Vec<u8>>, data: impl IntoIterator<Item = u8>) {
    for byte in data {
        if buf.len() == buf.capacity() {
            reserve(buf, 1);
        }
        buf.push(byte);
    }
}

/// Resizes `buf` to `len`, filling with zeros; if `buf` must grow, its old allocation is zeroed.
pub fn resize(buf: &mut Zeroizing<Vec<u8>>, len: usize) {
    if len > buf.len() {
        reserve(buf, len - buf.len());
    }
    buf.resize(len, 0);
}

/// Reads `reader` to its end into a new buffer, at most `limit` bytes (more is not read); no
/// copy of what was read is left behind by growth or by the read buffer.
pub fn read_to_end(reader: impl Read, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::new());
    let mut chunk = Zeroizing::new([0u8; 8192]);
    let mut reader = reader.take(limit);
    loop {
        match reader.read(&mut chunk[..]) {
            Ok(0) => return Ok(out),
            Ok(n) => extend(&mut out, &chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Makes room for `additional` more bytes by moving to a new allocation (at least doubling, as
/// `Vec` does) and dropping the old one, which `Zeroizing` zeroes.
fn reserve(buf: &mut Zeroizing<Vec<u8>>, additional: usize) {
    let needed = buf.len().saturating_add(additional);
    if needed <= buf.capacity() {
        return;
    }
    let capacity = needed.max(buf.capacity().saturating_mul(2)).max(64);
    let mut grown = Zeroizing::new(Vec::with_capacity(capacity));
    grown.extend_from_slice(buf);
    // The old buffer is zeroed as it is dropped here.
    *buf = grown;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The allocation a buffer leaves when it grows must hold no byte of what it held. Checked
    /// by watching the old allocation through a buffer that was zeroed in place: the helper
    /// moves the content itself, so the old allocation can be inspected before it is freed.
    #[test]
    fn growing_moves_to_a_new_allocation_and_keeps_the_content() {
        let mut buf = Zeroizing::new(Vec::with_capacity(4));
        extend(&mut buf, b"abcd");
        let before = buf.as_ptr();
        extend(&mut buf, b"efgh");
        assert_eq!(&buf[..], b"abcdefgh");
        assert_ne!(buf.as_ptr(), before, "grown into a new allocation");
        assert!(buf.capacity() >= 8);

        let cap = buf.capacity();
        let same = buf.as_ptr();
        resize(&mut buf, cap);
        assert_eq!(buf.as_ptr(), same, "no move while it fits");
        resize(&mut buf, cap + 1);
        assert_eq!(&buf[..8], b"abcdefgh");
        assert!(buf[8..].iter().all(|&b| b == 0));
        resize(&mut buf, 3);
        assert_eq!(&buf[..], b"abc");

        let mut from_iter = Zeroizing::new(Vec::new());
        extend_from_iter(&mut from_iter, (0..200u8).filter(|b| b % 2 == 0));
        assert_eq!(from_iter.len(), 100);
        assert_eq!(from_iter[99], 198);
    }

    /// `reserve` zeroes the allocation it leaves: the same code path, with the old `Vec` kept
    /// alive by hand to look at it (`Zeroizing::drop` zeroes the whole capacity).
    #[test]
    fn the_allocation_left_behind_is_zeroed() {
        let mut old = Zeroizing::new(Vec::with_capacity(16));
        old.extend_from_slice(b"secret key bytes");
        let mut grown = Zeroizing::new(Vec::with_capacity(64));
        grown.extend_from_slice(&old);
        // What `*buf = grown` does to the old buffer, without freeing it.
        zeroize::Zeroize::zeroize(&mut *old);
        // SAFETY: the capacity is 16 bytes, initialised above and zeroed in place since.
        let left = unsafe { std::slice::from_raw_parts(old.as_ptr(), 16) };
        assert!(left.iter().all(|&b| b == 0), "{left:?}");
        assert_eq!(&grown[..], b"secret key bytes");
    }

    #[test]
    fn read_to_end_reads_up_to_the_limit() {
        let data: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
        let all = read_to_end(&data[..], 1 << 20).expect("read");
        assert_eq!(&all[..], &data[..]);
        let some = read_to_end(&data[..], 100).expect("read");
        assert_eq!(&some[..], &data[..100]);
    }
}
