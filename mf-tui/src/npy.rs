//! Minimal NumPy `.npy` (format version 1.0) writing and reading of little-endian, C-order arrays.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};

/// An element type `.npy` files can hold here.
pub trait NpyElem: Copy {
    /// NumPy's `descr`, e.g. `<f4`.
    const DESCR: &'static str;
    /// Appends the little-endian bytes of `self`.
    fn put(self, out: &mut Vec<u8>);
    /// Reads one value from 8 or fewer little-endian bytes.
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! elem {
    ($t:ty, $d:literal) => {
        impl NpyElem for $t {
            const DESCR: &'static str = $d;
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("element size"))
            }
        }
    };
}
elem!(f32, "<f4");
elem!(f64, "<f8");
elem!(i64, "<i8");

/// The bytes of a `.npy` file holding `data` (C order) with `shape`.
pub fn encode<T: NpyElem>(shape: &[usize], data: &[T]) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "shape does not match the data"
    );
    let shape_txt = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_txt}, }}",
        T::DESCR
    );
    // Magic (6) + version (2) + header length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 8);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in data {
        v.put(&mut out);
    }
    out
}

/// Writes `data` with `shape` to `path` as `.npy`.
pub fn write<T: NpyElem>(path: &Path, shape: &[usize], data: &[T]) -> anyhow::Result<()> {
    let bytes = encode(shape, data);
    let mut f =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(&bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Parses a `.npy` file written by [`encode`] (or NumPy, for the same types): shape and data.
pub fn decode<T: NpyElem>(bytes: &[u8]) -> anyhow::Result<(Vec<usize>, Vec<T>)> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        bail!("not a .npy file");
    }
    if bytes[6] != 1 {
        bail!("unsupported .npy version {}", bytes[6]);
    }
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(bytes.get(10..10 + hlen).context("truncated header")?)?;
    if !header.contains(&format!("'descr': '{}'", T::DESCR)) {
        bail!("element type is not {}: {header}", T::DESCR);
    }
    if !header.contains("'fortran_order': False") {
        bail!("only C-order arrays are supported");
    }
    let shape_txt = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .context("no shape in header")?;
    let shape = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().context("bad shape"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let size = std::mem::size_of::<T>();
    let body = &bytes[10 + hlen..];
    let n: usize = shape.iter().product();
    if body.len() != n * size {
        bail!("expected {} data bytes, found {}", n * size, body.len());
    }
    Ok((shape, body.chunks_exact(size).map(T::get).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_numpy_version_1_aligned_to_64_bytes() {
        let b = encode(&[2, 3], &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with('\n'));
        assert_eq!(&b[10 + hlen..10 + hlen + 4], &1.0f32.to_le_bytes());
        let one = encode(&[3], &[1i64, 2, 3]);
        assert!(std::str::from_utf8(&one[10..])
            .unwrap()
            .contains("'shape': (3,)"));
    }

    #[test]
    fn arrays_round_trip_including_nan_and_scalars() {
        let data = vec![0.5f64, f64::NAN, -3.25, 1e300];
        let (shape, back) = decode::<f64>(&encode(&[2, 2], &data)).unwrap();
        assert_eq!(shape, vec![2, 2]);
        assert_eq!(back[0], 0.5);
        assert!(back[1].is_nan());
        assert_eq!(&back[2..], &data[2..]);
        let (s, v) = decode::<i64>(&encode(&[], &[7i64])).unwrap();
        assert!(s.is_empty());
        assert_eq!(v, vec![7]);
        assert!(decode::<f32>(&encode(&[1], &[1.0f64])).is_err());
        assert!(decode::<f32>(b"not numpy").is_err());
    }
}
