//! Reads PyTorch's legacy (pre-1.6, non-zip) `torch.save` format, which Resemblyzer's
//! `pretrained.pt` uses; `candle_core::pickle` only reads the zip format, but its pickle VM
//! ([`Stack`]) is reused here.
//!
//! Layout: five pickles — the magic number, the protocol version, a sys-info dict, the saved
//! object (tensors are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ..)`
//! with storages as persistent ids `('storage', torch.FloatStorage, key, location, numel)`),
//! and the list of storage keys — then, for each key in that order, an int64 element count and
//! the storage's raw little-endian data.

use std::collections::HashMap;
use std::io::{BufRead, Cursor, Read};

use candle_core::pickle::{Object, Stack};
use candle_core::{DType, Device, Tensor};

/// The first pickle of a legacy file: `PROTO 2`, `LONG1` of 10 bytes holding torch's magic
/// number 0x1950a86a20f9469cfc6c, `STOP`. Compared as bytes (candle's `LONG1` decoding only
/// handles up to 8 bytes).
const MAGIC_PICKLE: [u8; 15] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];

/// Why a checkpoint could not be read. None is recoverable: the file is not the expected one.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading the file failed or it ended early.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file does not start like a legacy `torch.save` file (a zip-format checkpoint or
    /// something else entirely).
    #[error("not a PyTorch legacy checkpoint (bad magic number)")]
    NotLegacyTorch,
    /// A pickle in the file could not be decoded, or a tensor could not be built.
    #[error("{0}")]
    Pickle(#[from] candle_core::Error),
    /// The pickled objects do not have the expected structure.
    #[error("unexpected checkpoint structure: {0}")]
    Structure(&'static str),
    /// The saved object has no dict entry of this name (Resemblyzer's is `model_state`).
    #[error("no `{0}` entry in the checkpoint")]
    MissingKey(String),
    /// A storage of a type this reader does not handle.
    #[error("unsupported storage type {0}")]
    StorageType(String),
    /// A tensor reaches outside its storage.
    #[error("tensor `{0}` reaches outside its storage")]
    OutOfBounds(String),
}

/// A storage as named by a persistent id.
#[derive(Debug, Clone)]
struct StorageRef {
    key: String,
    class: String,
    numel: usize,
}

/// Reads `obj[key]` of a legacy checkpoint as named f32 tensors on the CPU.
pub fn read_state_dict(
    bytes: &[u8],
    key: &str,
) -> Result<HashMap<String, Tensor>, CheckpointError> {
    if bytes.len() < MAGIC_PICKLE.len() || bytes[..MAGIC_PICKLE.len()] != MAGIC_PICKLE {
        return Err(CheckpointError::NotLegacyTorch);
    }
    let mut r = Cursor::new(&bytes[MAGIC_PICKLE.len()..]);
    let _protocol = unpickle(&mut r)?;
    let sys_info = unpickle(&mut r)?;
    if !dict_get(&sys_info, "little_endian").is_some_and(|v| *v == Object::Bool(true)) {
        return Err(CheckpointError::Structure("not saved little-endian"));
    }
    let saved = unpickle(&mut r)?;
    let keys = match unpickle(&mut r)? {
        Object::List(keys) => keys
            .into_iter()
            .map(|k| {
                k.unicode()
                    .map_err(|_| CheckpointError::Structure("storage key not a string"))
            })
            .collect::<Result<Vec<String>, _>>()?,
        _ => return Err(CheckpointError::Structure("storage keys are not a list")),
    };

    // Storage types and sizes by key, from every persistent id in the saved object.
    let mut refs = HashMap::new();
    collect_storages(&saved, &mut refs)?;

    // The raw storages follow, in key order.
    let mut storages: HashMap<String, Vec<f32>> = HashMap::new();
    for k in &keys {
        let storage = refs
            .get(k)
            .ok_or(CheckpointError::Structure("a storage no tensor refers to"))?;
        let mut n = [0u8; 8];
        r.read_exact(&mut n)?;
        let numel = u64::from_le_bytes(n) as usize;
        if numel != storage.numel {
            return Err(CheckpointError::Structure(
                "storage size differs from its persistent id",
            ));
        }
        let item = element_size(&storage.class)?;
        let len = numel
            .checked_mul(item)
            .ok_or(CheckpointError::Structure("storage too large"))?;
        let remaining = r.get_ref().len() as u64 - r.position().min(r.get_ref().len() as u64);
        if len as u64 > remaining {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        if storage.class == "FloatStorage" {
            let mut raw = vec![0u8; len];
            r.read_exact(&mut raw)?;
            let data = raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            storages.insert(k.clone(), data);
        } else {
            // Not needed (the optimizer state holds such storages): skip it.
            let skipped = std::io::copy(&mut (&mut r).take(len as u64), &mut std::io::sink())?;
            if skipped != len as u64 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            }
        }
    }

    let entries = match dict_get(&saved, key) {
        Some(Object::Dict(entries)) => entries,
        Some(_) => return Err(CheckpointError::Structure("the state entry is not a dict")),
        None => return Err(CheckpointError::MissingKey(key.to_string())),
    };
    let mut tensors = HashMap::new();
    for (name, value) in entries {
        let Object::Unicode(name) = name else {
            return Err(CheckpointError::Structure(
                "a state dict key is not a string",
            ));
        };
        if name == "_metadata" {
            // The OrderedDict's attribute (module versions), set by the pickle's BUILD, which
            // candle's VM merges into the dict.
            continue;
        }
        let (storage, offset, size, stride) = tensor_args(value)?;
        if storage.class != "FloatStorage" {
            return Err(CheckpointError::StorageType(storage.class));
        }
        let data = storages
            .get(&storage.key)
            .ok_or(CheckpointError::Structure("a tensor's storage is missing"))?;
        let values = gather(data, offset, &size, &stride)
            .ok_or_else(|| CheckpointError::OutOfBounds(name.clone()))?;
        let tensor = Tensor::from_vec(values, size, &Device::Cpu)?.to_dtype(DType::F32)?;
        tensors.insert(name.clone(), tensor);
    }
    Ok(tensors)
}

fn unpickle<R: BufRead>(r: &mut R) -> Result<Object, CheckpointError> {
    let mut stack = Stack::empty();
    stack.read_loop(r)?;
    Ok(stack.finalize()?)
}

fn dict_get<'a>(obj: &'a Object, key: &str) -> Option<&'a Object> {
    match obj {
        Object::Dict(entries) => entries
            .iter()
            .find(|(k, _)| matches!(k, Object::Unicode(s) if s == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn element_size(class: &str) -> Result<usize, CheckpointError> {
    Ok(match class {
        "DoubleStorage" | "LongStorage" => 8,
        "FloatStorage" | "IntStorage" => 4,
        "HalfStorage" | "BFloat16Storage" | "ShortStorage" => 2,
        "ByteStorage" | "CharStorage" | "BoolStorage" => 1,
        other => return Err(CheckpointError::StorageType(other.to_string())),
    })
}

/// `('storage', torch.XStorage, key, location, numel[, view_metadata])`.
fn storage_ref(pid: &Object) -> Result<StorageRef, CheckpointError> {
    let bad = CheckpointError::Structure("malformed storage persistent id");
    let Object::Tuple(items) = pid else {
        return Err(bad);
    };
    match items.as_slice() {
        [
            Object::Unicode(kind),
            Object::Class { class_name, .. },
            Object::Unicode(key),
            _,
            numel,
            ..,
        ] if kind == "storage" => {
            let numel = match numel {
                Object::Int(n) => usize::try_from(*n).map_err(|_| bad)?,
                Object::Long(n) => usize::try_from(*n).map_err(|_| bad)?,
                _ => return Err(bad),
            };
            Ok(StorageRef {
                key: key.clone(),
                class: class_name.clone(),
                numel,
            })
        }
        _ => Err(bad),
    }
}

fn collect_storages(
    obj: &Object,
    out: &mut HashMap<String, StorageRef>,
) -> Result<(), CheckpointError> {
    match obj {
        Object::PersistentLoad(pid) => {
            let s = storage_ref(pid)?;
            out.insert(s.key.clone(), s);
        }
        Object::Tuple(v) | Object::List(v) => {
            for o in v {
                collect_storages(o, out)?;
            }
        }
        Object::Dict(entries) => {
            for (k, v) in entries {
                collect_storages(k, out)?;
                collect_storages(v, out)?;
            }
        }
        Object::Reduce { callable, args } | Object::Build { callable, args } => {
            collect_storages(callable, out)?;
            collect_storages(args, out)?;
        }
        _ => {}
    }
    Ok(())
}

/// The arguments of `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ..)`.
fn tensor_args(
    value: &Object,
) -> Result<(StorageRef, usize, Vec<usize>, Vec<usize>), CheckpointError> {
    let bad = CheckpointError::Structure("a state dict value is not a tensor");
    let Object::Reduce { callable, args } = value else {
        return Err(bad);
    };
    match callable.as_ref() {
        Object::Class {
            module_name,
            class_name,
        } if module_name == "torch._utils" && class_name == "_rebuild_tensor_v2" => {}
        _ => return Err(bad),
    }
    let Object::Tuple(args) = args.as_ref() else {
        return Err(bad);
    };
    let [Object::PersistentLoad(pid), offset, size, stride, ..] = args.as_slice() else {
        return Err(bad);
    };
    let int = |o: &Object| -> Option<usize> {
        match o {
            Object::Int(n) => usize::try_from(*n).ok(),
            Object::Long(n) => usize::try_from(*n).ok(),
            _ => None,
        }
    };
    let ints = |o: &Object| -> Option<Vec<usize>> {
        match o {
            Object::Tuple(v) => v.iter().map(int).collect(),
            _ => None,
        }
    };
    let storage = storage_ref(pid)?;
    let offset = int(offset).ok_or(CheckpointError::Structure("bad tensor offset"))?;
    let size = ints(size).ok_or(CheckpointError::Structure("bad tensor size"))?;
    let stride = ints(stride).ok_or(CheckpointError::Structure("bad tensor stride"))?;
    if size.len() != stride.len() {
        return Err(CheckpointError::Structure(
            "tensor size and stride differ in rank",
        ));
    }
    Ok((storage, offset, size, stride))
}

/// Copies a strided view out of `data` in row-major order; None if it reaches outside.
fn gather(data: &[f32], offset: usize, size: &[usize], stride: &[usize]) -> Option<Vec<f32>> {
    let numel: usize = size.iter().product();
    if numel == 0 {
        return Some(Vec::new());
    }
    let last = size.iter().zip(stride).try_fold(offset, |acc, (&n, &s)| {
        acc.checked_add((n - 1).checked_mul(s)?)
    })?;
    if last >= data.len() {
        return None;
    }
    let mut out = Vec::with_capacity(numel);
    let mut index = vec![0usize; size.len()];
    for _ in 0..numel {
        let at: usize = offset + index.iter().zip(stride).map(|(i, s)| i * s).sum::<usize>();
        out.push(data[at]);
        for d in (0..size.len()).rev() {
            index[d] += 1;
            if index[d] < size[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_follows_strides() {
        // A 2×3 row-major matrix read transposed (3×2, strides 1, 3), from offset 1.
        let data: Vec<f32> = (0..8).map(|i| i as f32).collect();
        assert_eq!(
            gather(&data, 1, &[3, 2], &[1, 3]),
            Some(vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0])
        );
        assert_eq!(gather(&data, 3, &[2, 3], &[3, 1]), None);
    }

    #[test]
    fn rejects_what_is_not_a_legacy_checkpoint() {
        assert!(matches!(
            read_state_dict(b"PK\x03\x04 zip file", "model_state"),
            Err(CheckpointError::NotLegacyTorch)
        ));
        // The magic, then the file ends.
        assert!(matches!(
            read_state_dict(&MAGIC_PICKLE, "model_state"),
            Err(CheckpointError::Pickle(_) | CheckpointError::Io(_))
        ));
    }
}
