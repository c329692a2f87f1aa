//! The op names stock TensorFlow registers (TF 2.21's op registry, `stock_ops.txt`, generated
//! by `tests/fixtures/gen/make_tf_fixtures.py`). An op outside this list needs a custom-op
//! library (`tf.load_op_library`, native code) or is a function of the graph's library.

use std::collections::HashSet;
use std::sync::OnceLock;

const LIST: &str = include_str!("stock_ops.txt");

fn set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        LIST.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Whether `op` is registered by stock TensorFlow.
pub fn is_stock(op: &str) -> bool {
    set().contains(op)
}

/// How many op names the list holds.
pub fn count() -> usize {
    set().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_usual_ops() {
        for op in [
            "MatMul",
            "ReadFile",
            "EagerPyFunc",
            "StatefulPartitionedCall",
            "_Arg",
        ] {
            assert!(is_stock(op), "{op}");
        }
        assert!(!is_stock("Backdoor"));
        assert!(count() > 1500);
    }
}
