//! What pickle globals are: known-safe (needed by legitimate PyTorch, NumPy, scikit-learn,
//! joblib and collections pickles), known code execution (with what they do), or neither.
//!
//! Facts gathered from PyTorch's weights-only unpickler allowlist, the public bypass reports
//! against picklescan/ModelScan/fickling, and the Python standard library. Matching is on
//! whole dotted components: a dangerous module makes every submodule and attribute under it
//! dangerous (`asyncio.unix_events._UnixSubprocessTransport._start`), and nothing is trusted
//! by prefix alone.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// What a dangerous callable does, for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Danger {
    /// eval/exec/compile and friends: arbitrary Python.
    CodeExec,
    /// Starts a process (shell, exec, spawn).
    ProcessSpawn,
    /// Network access (sockets, HTTP, mail, FTP).
    Network,
    /// Writes, deletes or moves files.
    FileWrite,
    /// Reads files (exfiltration, reconnaissance).
    FileRead,
    /// Loads native code.
    NativeCode,
    /// Imports arbitrary modules or resolves arbitrary names.
    Importer,
    /// Deserialises another payload (nested pickle, marshal, torch.load).
    NestedLoad,
    /// Reaches interpreter internals (builtins, globals, frames, subinterpreters).
    Introspection,
    /// Runs callables indirectly (threads, atexit, profilers, debuggers).
    IndirectExec,
}

impl Danger {
    pub fn describe(self) -> &'static str {
        match self {
            Danger::CodeExec => "runs arbitrary Python code",
            Danger::ProcessSpawn => "spawns a process / shell command",
            Danger::Network => "opens network connections",
            Danger::FileWrite => "writes, moves or deletes files",
            Danger::FileRead => "reads files from disk",
            Danger::NativeCode => "loads native code into the process",
            Danger::Importer => "imports arbitrary modules or names",
            Danger::NestedLoad => "deserialises an embedded payload (which can run code)",
            Danger::Introspection => "reaches interpreter internals (builtins, globals)",
            Danger::IndirectExec => "runs a callable indirectly",
        }
    }
}

/// Modules where everything is dangerous (and every submodule).
const DANGEROUS_MODULES: &[(&str, Danger)] = &[
    ("os", Danger::ProcessSpawn),
    ("posix", Danger::ProcessSpawn),
    ("nt", Danger::ProcessSpawn),
    ("subprocess", Danger::ProcessSpawn),
    ("_posixsubprocess", Danger::ProcessSpawn),
    ("pty", Danger::ProcessSpawn),
    ("popen2", Danger::ProcessSpawn),
    ("commands", Danger::ProcessSpawn),
    ("_winapi", Danger::ProcessSpawn),
    ("msvcrt", Danger::NativeCode),
    ("winreg", Danger::FileWrite),
    ("multiprocessing", Danger::ProcessSpawn),
    ("concurrent", Danger::IndirectExec),
    ("asyncio", Danger::ProcessSpawn),
    ("_osx_support", Danger::ProcessSpawn),
    ("_aix_support", Danger::ProcessSpawn),
    ("_bootsubprocess", Danger::ProcessSpawn),
    ("socket", Danger::Network),
    ("_socket", Danger::Network),
    ("socketserver", Danger::Network),
    ("ssl", Danger::Network),
    ("http", Danger::Network),
    ("urllib", Danger::Network),
    ("urllib2", Danger::Network),
    ("urllib3", Danger::Network),
    ("requests", Danger::Network),
    ("httpx", Danger::Network),
    ("aiohttp", Danger::Network),
    ("ftplib", Danger::Network),
    ("smtplib", Danger::Network),
    ("poplib", Danger::Network),
    ("imaplib", Danger::Network),
    ("nntplib", Danger::Network),
    ("telnetlib", Danger::Network),
    ("xmlrpc", Danger::Network),
    ("webbrowser", Danger::ProcessSpawn),
    ("paramiko", Danger::Network),
    ("shutil", Danger::FileWrite),
    ("tempfile", Danger::FileWrite),
    ("glob", Danger::FileRead),
    ("fileinput", Danger::FileRead),
    ("linecache", Danger::FileRead),
    ("tarfile", Danger::FileWrite),
    ("zipfile", Danger::FileWrite),
    ("shelve", Danger::NestedLoad),
    ("dbm", Danger::FileWrite),
    ("sqlite3", Danger::FileWrite),
    ("ctypes", Danger::NativeCode),
    ("_ctypes", Danger::NativeCode),
    ("cffi", Danger::NativeCode),
    ("runpy", Danger::CodeExec),
    ("code", Danger::CodeExec),
    ("codeop", Danger::CodeExec),
    ("importlib", Danger::Importer),
    ("imp", Danger::Importer),
    ("pkgutil", Danger::Importer),
    ("zipimport", Danger::Importer),
    ("pydoc", Danger::Importer),
    ("site", Danger::CodeExec),
    ("sys", Danger::Introspection),
    ("gc", Danger::Introspection),
    ("inspect", Danger::Introspection),
    ("types", Danger::CodeExec),
    ("marshal", Danger::NestedLoad),
    ("pickle", Danger::NestedLoad),
    ("_pickle", Danger::NestedLoad),
    ("cPickle", Danger::NestedLoad),
    ("pickletools", Danger::NestedLoad),
    ("dill", Danger::NestedLoad),
    ("cloudpickle", Danger::NestedLoad),
    ("jsonpickle", Danger::NestedLoad),
    ("yaml", Danger::NestedLoad),
    ("copyreg", Danger::Introspection),
    ("pdb", Danger::CodeExec),
    ("bdb", Danger::CodeExec),
    ("trace", Danger::CodeExec),
    ("profile", Danger::CodeExec),
    ("cProfile", Danger::CodeExec),
    ("timeit", Danger::CodeExec),
    ("idlelib", Danger::CodeExec),
    ("lib2to3", Danger::CodeExec),
    ("distutils", Danger::ProcessSpawn),
    ("setuptools", Danger::ProcessSpawn),
    ("pip", Danger::ProcessSpawn),
    ("ensurepip", Danger::ProcessSpawn),
    ("venv", Danger::ProcessSpawn),
    ("platform", Danger::ProcessSpawn),
    ("mailcap", Danger::ProcessSpawn),
    ("threading", Danger::IndirectExec),
    ("_thread", Danger::IndirectExec),
    ("atexit", Danger::IndirectExec),
    ("signal", Danger::IndirectExec),
    ("sched", Danger::IndirectExec),
    ("_xxsubinterpreters", Danger::CodeExec),
    ("_interpreters", Danger::CodeExec),
    ("interpreters", Danger::CodeExec),
    ("_xxinterpchannels", Danger::CodeExec),
    ("logging.config", Danger::CodeExec),
    ("builtins.__import__", Danger::Importer),
    ("builtins.eval", Danger::CodeExec),
    ("builtins.exec", Danger::CodeExec),
    ("builtins.execfile", Danger::CodeExec),
    ("builtins.compile", Danger::CodeExec),
    ("builtins.open", Danger::FileWrite),
    ("builtins.file", Danger::FileWrite),
    ("builtins.input", Danger::IndirectExec),
    ("builtins.breakpoint", Danger::CodeExec),
    ("builtins.help", Danger::ProcessSpawn),
    ("builtins.globals", Danger::Introspection),
    ("builtins.locals", Danger::Introspection),
    ("builtins.vars", Danger::Introspection),
    ("builtins.setattr", Danger::Introspection),
    ("builtins.delattr", Danger::Introspection),
    ("builtins.reload", Danger::Importer),
    ("builtins.memoryview", Danger::Introspection),
    ("io.open", Danger::FileWrite),
    ("io.open_code", Danger::FileRead),
    ("io.FileIO", Danger::FileWrite),
    ("_io.open", Danger::FileWrite),
    ("_io.FileIO", Danger::FileWrite),
    ("codecs.open", Danger::FileWrite),
    ("pathlib.Path.write_text", Danger::FileWrite),
    ("pathlib.Path.write_bytes", Danger::FileWrite),
    ("pathlib.PosixPath.write_text", Danger::FileWrite),
    ("pathlib.PosixPath.write_bytes", Danger::FileWrite),
    ("pathlib.Path.unlink", Danger::FileWrite),
    ("pathlib.Path.read_text", Danger::FileRead),
    ("uuid._get_command_stdout", Danger::ProcessSpawn),
    ("uuid._popen", Danger::ProcessSpawn),
    ("functools.reduce", Danger::IndirectExec),
    ("_functools.reduce", Danger::IndirectExec),
    ("operator.attrgetter", Danger::Introspection),
    ("operator.methodcaller", Danger::IndirectExec),
    ("_operator.attrgetter", Danger::Introspection),
    ("_operator.methodcaller", Danger::IndirectExec),
    ("itertools.starmap", Danger::IndirectExec),
    ("torch.load", Danger::NestedLoad),
    ("torch.serialization.load", Danger::NestedLoad),
    ("torch.hub", Danger::CodeExec),
    ("torch.jit.load", Danger::NestedLoad),
    ("torch.jit.annotations", Danger::CodeExec),
    ("torch.package", Danger::CodeExec),
    ("torch.utils.collect_env", Danger::ProcessSpawn),
    ("torch.utils.bottleneck", Danger::CodeExec),
    ("torch.utils.cpp_extension", Danger::NativeCode),
    ("torch._dynamo", Danger::CodeExec),
    ("torch._inductor", Danger::CodeExec),
    ("torch.distributed", Danger::Network),
    ("torch.ops.load_library", Danger::NativeCode),
    ("torch.classes.load_library", Danger::NativeCode),
    (
        "torch._C._jit_set_profiling_executor",
        Danger::Introspection,
    ),
    ("numpy.load", Danger::NestedLoad),
    ("numpy.f2py", Danger::ProcessSpawn),
    ("numpy.testing", Danger::CodeExec),
    ("numpy.distutils", Danger::ProcessSpawn),
    ("numpy.ctypeslib", Danger::NativeCode),
    ("numpy.lib.npyio", Danger::FileWrite),
    ("numpy.save", Danger::FileWrite),
    ("numpy.savetxt", Danger::FileWrite),
    ("numpy.fromfile", Danger::FileRead),
    ("numpy.loadtxt", Danger::FileRead),
    ("numpy.memmap", Danger::FileWrite),
    ("joblib.load", Danger::NestedLoad),
    ("joblib.dump", Danger::FileWrite),
    ("joblib.numpy_pickle.load", Danger::NestedLoad),
    ("pandas.read_pickle", Danger::NestedLoad),
    ("pandas.read_csv", Danger::Network),
    ("pandas.read_json", Danger::Network),
    ("pandas.io", Danger::Network),
    ("keras.models.load_model", Danger::NestedLoad),
    ("keras.saving", Danger::NestedLoad),
    ("tensorflow.io", Danger::FileWrite),
    ("tensorflow.keras.models.load_model", Danger::NestedLoad),
    ("mlflow", Danger::ProcessSpawn),
    ("IPython", Danger::CodeExec),
    ("jinja2", Danger::CodeExec),
    ("sklearn.utils._testing", Danger::CodeExec),
    ("sklearn.datasets", Danger::Network),
];

/// Attribute components that reach interpreter internals from any object.
const DANGEROUS_ATTRS: &[&str] = &[
    "__builtins__",
    "__globals__",
    "__import__",
    "__subclasses__",
    "__code__",
    "__loader__",
    "__spec__",
    "__getattribute__",
    "__dict__",
    "__reduce__",
    "__reduce_ex__",
    "__class__",
    "__bases__",
    "__mro__",
    "__base__",
    "__closure__",
    "__func__",
    "__self__",
    "f_globals",
    "f_locals",
    "gi_frame",
    "system",
    "popen",
    "exec",
    "eval",
];

/// Exact globals that legitimate model pickles need.
const SAFE_GLOBALS: &[&str] = &[
    "collections.OrderedDict",
    "collections.defaultdict",
    "collections.Counter",
    "collections.deque",
    "builtins.set",
    "builtins.frozenset",
    "builtins.list",
    "builtins.dict",
    "builtins.tuple",
    "builtins.int",
    "builtins.float",
    "builtins.complex",
    "builtins.bool",
    "builtins.str",
    "builtins.bytes",
    "builtins.bytearray",
    "builtins.slice",
    "builtins.range",
    "builtins.object",
    "builtins.NoneType",
    "builtins.Ellipsis",
    "builtins.print",
    "copyreg._reconstructor",
    "copyreg.__newobj__",
    "copyreg.__newobj_ex__",
    "_codecs.encode",
    "codecs.encode",
    "datetime.datetime",
    "datetime.date",
    "datetime.time",
    "datetime.timedelta",
    "datetime.timezone",
    "decimal.Decimal",
    "fractions.Fraction",
    "uuid.UUID",
    "argparse.Namespace",
    "re._compile",
    "enum.Enum",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pathlib.Path",
    "pathlib.PurePosixPath",
    "functools.partial",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_sparse_csr_tensor",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_xla_tensor",
    "torch._utils._rebuild_mps_tensor",
    "torch._tensor._rebuild_from_type",
    "torch._tensor._rebuild_from_type_v2",
    "torch.serialization._get_layout",
    "torch.nn.parameter.Parameter",
    "torch.nn.parameter.Buffer",
    "torch.Size",
    "torch.device",
    "torch.dtype",
    "torch.Tensor",
    "torch.strided",
    "torch.sparse_coo",
    "torch.sparse_csr",
    "torch.sparse_csc",
    "torch.sparse_bsr",
    "torch.sparse_bsc",
    "torch._mkldnn",
    "torch.contiguous_format",
    "torch.channels_last",
    "torch.channels_last_3d",
    "torch.preserve_format",
    "torch.per_tensor_affine",
    "torch.per_channel_affine",
    "torch.per_tensor_symmetric",
    "torch.per_channel_symmetric",
    "torch.per_channel_affine_float_qparams",
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
    "torch.storage._load_from_bytes",
    "torch.torch_version.TorchVersion",
    "torch.jit._pickle.build_intlist",
    "torch.jit._pickle.build_doublelist",
    "torch.jit._pickle.build_boollist",
    "torch.jit._pickle.build_tensorlist",
    "torch.jit._pickle.build_tensor_from_id",
    "torch.jit._pickle.restore_type_tag",
    "torch.cuda.amp.grad_scaler._MultiDeviceReplicator",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    // Written into ndarray pickles by NumPy before 1.0 and kept by NumPy for them:
    // `ndarray.__new__(subtype, shape, dtype)`.
    "numpy.core._internal._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.ndarray",
    "numpy.matrixlib.defmatrix.matrix",
    "numpy.core.defmatrix.matrix",
    "numpy.dtype",
    "numpy.ma.core._mareconstruct",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor",
    "numpy.random._pickle.__legacy_ctor",
    "numpy.random.__RandomState_ctor",
    "numpy.random.mtrand.RandomState",
    "numpy.random._mt19937.MT19937",
    "numpy.random._pcg64.PCG64",
    "numpy.random._generator.Generator",
    "numpy.random.bit_generator.SeedSequence",
    "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "joblib.numpy_pickle.NDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    "scipy.sparse._csr.csr_matrix",
    "scipy.sparse._csc.csc_matrix",
    "scipy.sparse._coo.coo_matrix",
    "scipy.sparse.csr.csr_matrix",
    "scipy.sparse.csc.csc_matrix",
    "scipy.sparse._arrays.csr_array",
    "pandas._libs.internals._unpickle_block",
    "pandas.core.internals.blocks.new_block",
    "pandas.core.indexes.base._new_Index",
    "pandas._libs.tslibs.timestamps._unpickle_timestamp",
    "_operator.itemgetter",
    "operator.itemgetter",
];

/// Namespaces whose CapWords classes (not functions) may be reconstructed: instantiating a
/// library class through `__reduce__`/`__new__` + `__setstate__` runs only that library's code.
const CLASS_NAMESPACES: &[&str] = &[
    "__torch__",
    "torch.nn.modules",
    "torch.nn.parameter",
    "torch.optim",
    "torch.ao.quantization",
    "torch.distributions",
    "torch.amp.grad_scaler",
    "sklearn",
    "scipy.sparse",
    "pandas.core",
    "pandas._libs",
    "transformers",
    "tokenizers",
    "accelerate.utils.dataclasses",
    "peft",
    "xgboost",
    "lightgbm",
    "catboost",
    "numpy.random",
    "numpy.ma",
    "collections",
];

/// Classification of a global by its dotted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Safe,
    Dangerous(Danger),
    Unknown,
}

fn components(name: &str) -> impl Iterator<Item = &str> {
    name.split('.')
}

/// Classify a dotted name. Dangerous entries match on whole components so that any
/// submodule or attribute below a dangerous module is dangerous too.
pub fn classify(name: &str) -> Class {
    static DANGEROUS: LazyLock<HashMap<&'static str, Danger>> = LazyLock::new(|| {
        let mut map = HashMap::new();
        for (module, danger) in DANGEROUS_MODULES {
            // The first entry for a module wins, as in the table's order.
            map.entry(*module).or_insert(*danger);
        }
        map
    });
    static SAFE: LazyLock<HashSet<&'static str>> =
        LazyLock::new(|| SAFE_GLOBALS.iter().copied().collect());
    // An exact allowlist entry wins over its module's danger class: `copyreg._reconstructor`
    // and `copyreg.__newobj__` are how protocol 0-2 pickles rebuild ordinary objects, and
    // they only call what their arguments name (which are classified on their own), while
    // the rest of `copyreg` (e.g. `add_extension`) stays dangerous. Never a prefix match.
    if SAFE.contains(name) {
        return Class::Safe;
    }
    for (i, _) in name
        .match_indices('.')
        .chain(std::iter::once((name.len(), "")))
    {
        let prefix = name.get(..i).unwrap_or(name);
        if let Some(d) = DANGEROUS.get(prefix) {
            return Class::Dangerous(*d);
        }
    }
    // Interpreter-internals attribute walks anywhere in the path (`numpy.__builtins__.eval`).
    if components(name)
        .skip(1)
        .any(|c| DANGEROUS_ATTRS.contains(&c))
    {
        return Class::Dangerous(Danger::Introspection);
    }
    if is_torch_dtype_or_storage(name) || is_numpy_scalar_type(name) {
        return Class::Safe;
    }
    if let Some((module, last)) = name.rsplit_once('.') {
        let capwords =
            last.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !last.contains("__");
        let in_ns = CLASS_NAMESPACES
            .iter()
            .any(|ns| module == *ns || module.strip_prefix(ns).is_some_and(|r| r.starts_with('.')));
        if capwords && in_ns {
            return Class::Safe;
        }
    }
    Class::Unknown
}

/// Whether this is a well-known builtin that only builds data (for higher-order checks).
pub fn is_higher_order(name: &str) -> bool {
    matches!(
        name,
        "builtins.map"
            | "builtins.filter"
            | "builtins.sorted"
            | "builtins.min"
            | "builtins.max"
            | "builtins.apply"
            | "functools.reduce"
            | "_functools.reduce"
            | "itertools.starmap"
            | "threading.Thread"
            | "threading.Timer"
            | "atexit.register"
            | "builtins.list"
            | "builtins.tuple"
            | "builtins.set"
            | "builtins.dict"
            | "collections.defaultdict"
    )
}

fn is_torch_dtype_or_storage(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("torch.") else {
        return false;
    };
    if rest.contains('.') {
        return false;
    }
    const DTYPES: &[&str] = &[
        "float32",
        "float",
        "float64",
        "double",
        "float16",
        "half",
        "bfloat16",
        "uint8",
        "int8",
        "int16",
        "short",
        "int32",
        "int",
        "int64",
        "long",
        "bool",
        "complex64",
        "complex128",
        "cfloat",
        "cdouble",
        "chalf",
        "complex32",
        "quint8",
        "qint8",
        "qint32",
        "quint4x2",
        "quint2x4",
        "float8_e4m3fn",
        "float8_e5m2",
        "float8_e4m3fnuz",
        "float8_e5m2fnuz",
        "float8_e8m0fnu",
        "uint16",
        "uint32",
        "uint64",
        "bits8",
        "bits16",
    ];
    DTYPES.contains(&rest)
        || (rest.ends_with("Storage")
            && rest.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
}

/// NumPy's scalar types (`numpy.float64`, …), referenced by estimators that store a dtype
/// (scikit-learn's `TfidfVectorizer(dtype=np.float64)`) and called by pickles of scalars.
/// Calling one only converts a number; none imports or runs anything else.
fn is_numpy_scalar_type(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("numpy.") else {
        return false;
    };
    const SCALARS: &[&str] = &[
        "bool_",
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "intc",
        "uintc",
        "intp",
        "uintp",
        "int_",
        "uint",
        "longlong",
        "ulonglong",
        "short",
        "ushort",
        "byte",
        "ubyte",
        "float16",
        "float32",
        "float64",
        "longdouble",
        "half",
        "single",
        "double",
        "complex64",
        "complex128",
        "clongdouble",
        "csingle",
        "cdouble",
        "datetime64",
        "timedelta64",
        "str_",
        "bytes_",
        "void",
    ];
    SCALARS.contains(&rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_scalar_types_are_safe_but_not_their_neighbours() {
        for n in [
            "numpy.float64",
            "numpy.int32",
            "numpy.bool_",
            "numpy.complex128",
        ] {
            assert_eq!(classify(n), Class::Safe, "{n}");
        }
        for n in [
            "numpy.float64.x",
            "numpy.load",
            "numpy.lib.float64",
            "numpyx.float64",
        ] {
            assert_ne!(classify(n), Class::Safe, "{n}");
        }
        assert!(matches!(
            classify("numpy.testing._private.utils.runstring"),
            Class::Dangerous(_)
        ));
    }

    #[test]
    fn submodules_of_dangerous_modules_are_dangerous() {
        assert!(matches!(
            classify("asyncio.unix_events._UnixSubprocessTransport._start"),
            Class::Dangerous(_)
        ));
        assert!(matches!(
            classify("os.system"),
            Class::Dangerous(Danger::ProcessSpawn)
        ));
        assert!(matches!(classify("posix.system"), Class::Dangerous(_)));
        assert!(matches!(
            classify("builtins.eval"),
            Class::Dangerous(Danger::CodeExec)
        ));
        assert!(matches!(
            classify("numpy.__builtins__.eval"),
            Class::Dangerous(_)
        ));
        assert!(matches!(
            classify("torch.utils.collect_env.run"),
            Class::Dangerous(_)
        ));
        assert!(matches!(
            classify("numpy.f2py.crackfortran.myeval"),
            Class::Dangerous(_)
        ));
    }

    #[test]
    fn pre_1_0_numpy_array_rebuild_is_safe() {
        // numpy's tests ship py2-np0-objarr.npy, whose object-array pickle rebuilds an
        // ndarray through this name; the rest of numpy.core._internal stays unlisted.
        assert_eq!(classify("numpy.core._internal._reconstruct"), Class::Safe);
        assert_ne!(classify("numpy.core._internal._ctypes"), Class::Safe);
        assert_ne!(classify("numpy.core._internal._reconstruct.x"), Class::Safe);
    }

    #[test]
    fn copyreg_rebuild_helpers_are_safe_but_the_module_is_not() {
        for n in [
            "copyreg._reconstructor",
            "copyreg.__newobj__",
            "copyreg.__newobj_ex__",
        ] {
            assert_eq!(classify(n), Class::Safe, "{n}");
        }
        for n in [
            "copyreg.add_extension",
            "copyreg.dispatch_table",
            "copyreg._reconstructor.x",
        ] {
            assert!(matches!(classify(n), Class::Dangerous(_)), "{n}");
        }
    }

    #[test]
    fn reconstructor_of_a_dangerous_class_is_still_caught() {
        // Protocol 0: copyreg._reconstructor(subprocess.Popen, subprocess.Popen, ["id"]) runs
        // Popen.__init__(obj, ["id"]) on load.
        let p =
            b"ccopyreg\n_reconstructor\n(csubprocess\nPopen\ncsubprocess\nPopen\n(lp0\nVid\naR.";
        let r = crate::engine::scan_bytes(
            "x.pkl",
            modelgate_core::Blob::from_vec(p.to_vec()),
            &modelgate_core::Limits::default(),
        );
        assert!(
            r.findings
                .iter()
                .any(|f| f.severity == modelgate_core::Severity::Critical),
            "{:?}",
            r.findings
        );
        // The same helper rebuilding an ordinary allowlisted class is clean.
        let ok =
            b"ccopyreg\n_reconstructor\n(ccollections\nOrderedDict\nc__builtin__\nobject\nNtR.";
        let r = crate::engine::scan_bytes(
            "ok.pkl",
            modelgate_core::Blob::from_vec(ok.to_vec()),
            &modelgate_core::Limits::default(),
        );
        assert!(
            r.findings
                .iter()
                .all(|f| f.severity <= modelgate_core::Severity::Low),
            "{:?}",
            r.findings
        );
    }

    #[test]
    fn no_prefix_tricks() {
        // A module whose name merely starts like a dangerous one is not dangerous, and a
        // module whose name starts like a safe namespace is not safe.
        assert_eq!(classify("osmium.Reader"), Class::Unknown);
        assert_eq!(classify("sklearnx.Evil"), Class::Unknown);
        assert_eq!(classify("torch.nn.modulesevil.X"), Class::Unknown);
        assert_eq!(classify("builtins.getattr"), Class::Unknown);
    }

    #[test]
    fn legitimate_globals_are_safe() {
        for n in [
            "torch._utils._rebuild_tensor_v2",
            "torch.FloatStorage",
            "torch.bfloat16",
            "collections.OrderedDict",
            "numpy.core.multiarray._reconstruct",
            "sklearn.linear_model._logistic.LogisticRegression",
            "torch.nn.modules.linear.Linear",
            "joblib.numpy_pickle.NumpyArrayWrapper",
        ] {
            assert_eq!(classify(n), Class::Safe, "{n}");
        }
        assert_eq!(
            classify("sklearn.utils._testing.assert_run_python_script"),
            Class::Dangerous(Danger::CodeExec)
        );
    }
}
