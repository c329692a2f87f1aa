//! `TFG006` tf-network-op: The graph opens network connections (RPC ops, tf.data service, gRPC debug URLs, remote file paths)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFG006",
    name: "tf-network-op",
    family: "tensorflow",
    kind: Kind::CodeExecution,
    severity: Severity::High,
    confidence: Confidence::Medium,
    summary: "The graph opens network connections (RPC ops, tf.data service, gRPC debug URLs, remote file paths)",
    doc: include_str!("../../../../../docs/rules/TFG006.md"),
    references: &["CWE-918", "AML.T0025"],
    since: "0.1.0",
};

/// Ops that talk to other hosts.
pub const OPS: &[&str] = &[
    "RpcServer",
    "RpcServerStart",
    "RpcServerRegister",
    "RpcClient",
    "RpcCall",
    "RpcCheckStatus",
    "RpcGetValue",
    "DeleteRpcFutureResource",
    "Rpc",
    "TryRpc",
    "DataServiceDataset",
    "DataServiceDatasetV2",
    "DataServiceDatasetV3",
    "DataServiceDatasetV4",
    "RegisterDataset",
    "RegisterDatasetV2",
    "DistributedSave",
    "GcsConfigureCredentials",
    "GcsConfigureBlockCache",
];

/// File-system schemes TensorFlow resolves over the network.
pub const REMOTE_SCHEMES: &[&str] = &[
    "gs://",
    "s3://",
    "hdfs://",
    "http://",
    "https://",
    "grpc://",
    "viewfs://",
    "az://",
];
