//! What each TensorFlow op does that a scan cares about, by op name: shared by the graph
//! analyzer (SavedModel, GraphDef) and the TFLite analyzer (Flex ops are TF ops).

use crate::rules::tensorflow::{
    Path, checkpoint_path, file_read, file_write, network_op, python_callback,
};

/// One thing an op does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Calls back into Python (`TFG001`).
    Python,
    /// Reads a file (`TFG002`); `always` = reported even without a constant path.
    Read { always: bool, path: Path },
    /// Writes a file (`TFG003`).
    Write { always: bool, path: Path },
    /// Checkpoint read/write, reported only with a constant path outside the model (`TFG004`).
    Checkpoint(Path),
    /// Talks to other hosts (`TFG006`).
    Network,
    /// `PrintV2`: where it prints is an attribute (`TFG005`).
    Print,
    /// Debug ops with `debug_urls` / `dump_root` attributes (`TFG005`, `TFG006`).
    Debug,
}

fn paths<'a>(table: &'a [(&'static str, Path)], op: &'a str) -> impl Iterator<Item = Path> + 'a {
    table.iter().filter(move |(o, _)| *o == op).map(|(_, p)| *p)
}

/// Everything `op` does that a rule looks at.
pub fn effects(op: &str) -> Vec<Effect> {
    let mut out = Vec::new();
    if python_callback::OPS.contains(&op) {
        out.push(Effect::Python);
    }
    out.extend(paths(file_read::ALWAYS, op).map(|path| Effect::Read { always: true, path }));
    out.extend(
        paths(file_read::IF_PATH_ESCAPES, op).map(|path| Effect::Read {
            always: false,
            path,
        }),
    );
    out.extend(paths(file_write::ALWAYS, op).map(|path| Effect::Write { always: true, path }));
    out.extend(
        paths(file_write::IF_PATH_ESCAPES, op).map(|path| Effect::Write {
            always: false,
            path,
        }),
    );
    out.extend(paths(checkpoint_path::OPS, op).map(Effect::Checkpoint));
    if network_op::OPS.contains(&op) {
        out.push(Effect::Network);
    }
    if op == "PrintV2" {
        out.push(Effect::Print);
    }
    if op.starts_with("Debug") {
        out.push(Effect::Debug);
    }
    out
}

/// A path that leaves the model directory: absolute (also `file:///...`), a drive letter,
/// `..` components, or `~`.
pub fn escapes(path: &str) -> bool {
    let p = path.strip_prefix("file://").unwrap_or(path);
    crate::analyzers::onnx::escapes(p)
}

/// A path TensorFlow's file system resolves over the network (`gs://`, `s3://`, ...).
pub fn remote(path: &str) -> bool {
    let lower = path.trim().to_ascii_lowercase();
    network_op::REMOTE_SCHEMES
        .iter()
        .any(|s| lower.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_ops() {
        assert_eq!(effects("EagerPyFunc"), vec![Effect::Python]);
        assert_eq!(
            effects("ReadFile"),
            vec![Effect::Read {
                always: true,
                path: Path::Input(0)
            }]
        );
        assert_eq!(effects("MergeV2Checkpoints").len(), 2);
        assert_eq!(effects("RpcClient"), vec![Effect::Network]);
        assert!(effects("MatMul").is_empty());
    }

    #[test]
    fn path_classes() {
        assert!(escapes("/etc/passwd"));
        assert!(escapes("file:///tmp/x"));
        assert!(escapes("../../x"));
        assert!(escapes("~/.ssh/id_rsa"));
        assert!(!escapes("vocab.txt"));
        assert!(remote("gs://bucket/x"));
        assert!(remote("HTTPS://evil.example/x"));
        assert!(!remote("/tmp/x"));
    }
}
