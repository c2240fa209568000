//! The glTF 2.0 binary container (`.glb`, also used by `.vrm`): a 12-byte header, a JSON chunk
//! and an optional BIN chunk, each padded to 4 bytes (JSON with spaces, BIN with zeros).

const MAGIC: &[u8; 4] = b"glTF";
const CHUNK_JSON: u32 = 0x4E4F_534A;
const CHUNK_BIN: u32 = 0x004E_4942;

/// Packs a JSON document and a binary buffer into a `.glb`.
pub(crate) fn write_glb(json: &[u8], bin: &[u8]) -> Vec<u8> {
    let json_len = json.len().next_multiple_of(4);
    let bin_len = bin.len().next_multiple_of(4);
    let total = 12 + 8 + json_len + if bin.is_empty() { 0 } else { 8 + bin_len };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json_len as u32).to_le_bytes());
    out.extend_from_slice(&CHUNK_JSON.to_le_bytes());
    out.extend_from_slice(json);
    out.resize(12 + 8 + json_len, b' ');
    if !bin.is_empty() {
        out.extend_from_slice(&(bin_len as u32).to_le_bytes());
        out.extend_from_slice(&CHUNK_BIN.to_le_bytes());
        out.extend_from_slice(bin);
        out.resize(total, 0);
    }
    out
}

/// Splits a `.glb` into its parsed JSON document and its BIN chunk (empty if absent).
pub(crate) fn read_glb(bytes: &[u8]) -> Result<(serde_json::Value, &[u8]), String> {
    let u32_at = |at: usize| -> Result<u32, String> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| format!("truncated at byte {at}"))
    };
    if bytes.get(0..4) != Some(MAGIC.as_slice()) {
        return Err(
            "missing the `glTF` magic (is this a .gltf text file? convert it to .glb)".into(),
        );
    }
    let version = u32_at(4)?;
    if version != 2 {
        return Err(format!("glTF container version {version}, expected 2"));
    }
    let json_len = u32_at(12)? as usize;
    if u32_at(16)? != CHUNK_JSON {
        return Err("first chunk is not JSON".into());
    }
    let json_bytes = bytes
        .get(20..20 + json_len)
        .ok_or("JSON chunk runs past the end of the file")?;
    let json: serde_json::Value =
        serde_json::from_slice(json_bytes).map_err(|e| format!("JSON chunk: {e}"))?;
    let bin_at = 20 + json_len;
    let bin = if bytes.len() >= bin_at + 8 && u32_at(bin_at + 4)? == CHUNK_BIN {
        let bin_len = u32_at(bin_at)? as usize;
        bytes
            .get(bin_at + 8..bin_at + 8 + bin_len)
            .ok_or("BIN chunk runs past the end of the file")?
    } else {
        &[][..]
    };
    Ok((json, bin))
}

/// The names a manifest may refer to, read from a glTF JSON document.
#[derive(Debug, Default)]
pub(crate) struct ModelNames {
    /// Every named node.
    pub nodes: Vec<String>,
    /// For each named node with a mesh: the node name and its mesh's morph target names
    /// (`mesh.extras.targetNames`, the convention Bevy and Blender use).
    pub morphs: Vec<(String, Vec<String>)>,
    /// Every named material.
    pub materials: Vec<String>,
}

impl ModelNames {
    pub fn from_json(json: &serde_json::Value) -> ModelNames {
        let str_list = |v: Option<&serde_json::Value>| -> Vec<String> {
            v.and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let meshes = json
            .get("meshes")
            .and_then(|m| m.as_array())
            .cloned()
            .unwrap_or_default();
        let mut names = ModelNames::default();
        for node in json
            .get("nodes")
            .and_then(|n| n.as_array())
            .into_iter()
            .flatten()
        {
            let Some(name) = node.get("name").and_then(|n| n.as_str()) else {
                continue;
            };
            names.nodes.push(name.to_owned());
            if let Some(mesh) = node
                .get("mesh")
                .and_then(|m| m.as_u64())
                .and_then(|m| meshes.get(m as usize))
            {
                let targets = str_list(mesh.get("extras").and_then(|e| e.get("targetNames")));
                names.morphs.push((name.to_owned(), targets));
            }
        }
        for material in json
            .get("materials")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(name) = material.get("name").and_then(|n| n.as_str()) {
                names.materials.push(name.to_owned());
            }
        }
        names
    }
}
