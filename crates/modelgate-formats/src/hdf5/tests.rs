#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/scan")
        .join(name);
    std::fs::read(p).unwrap()
}

fn read(name: &str) -> Hdf5File {
    parse(&fixture(name), &Limits::default()).unwrap()
}

fn paths(f: &Hdf5File) -> Vec<&str> {
    let mut p: Vec<&str> = f.objects.iter().map(|o| o.path.as_str()).collect();
    p.sort_unstable();
    p
}

fn plain_tree_is_read(f: &Hdf5File) {
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    assert_eq!(paths(f), vec!["/", "/data", "/data/x", "/data/y", "/empty"]);
    let root = f.root().unwrap();
    assert_eq!(root.kind, ObjectKind::Group);
    assert_eq!(
        root.attribute("title").unwrap().as_str().as_deref(),
        Some("plain h5py file")
    );
    assert_eq!(
        root.attribute("version").unwrap().value,
        Value::Integers(vec![3])
    );
    assert_eq!(
        root.attribute("scale").unwrap().value,
        Value::Floats(vec![0.5])
    );
    assert_eq!(
        root.attribute("labels").unwrap().strings(),
        vec!["cat", "dog"]
    );
    let x = f.objects.iter().find(|o| o.path == "/data/x").unwrap();
    assert_eq!(
        x.kind,
        ObjectKind::Dataset {
            shape: vec![3, 4],
            datatype: Some(Datatype::Float {
                size: 4,
                big_endian: false
            })
        }
    );
    let data = f.objects.iter().find(|o| o.path == "/data").unwrap();
    assert_eq!(
        data.attribute("units").unwrap().as_str().as_deref(),
        Some("m/s")
    );
}

/// h5py default (`libver="earliest"`): superblock v0, symbol-table groups, v1 headers.
#[test]
fn reads_h5py_v0_superblock_and_symbol_table_groups() {
    let f = read("ok_h5py_plain.h5");
    assert_eq!((f.version, f.superblock_offset, f.offset_size), (0, 0, 8));
    plain_tree_is_read(&f);
}

/// `libver="latest"`: superblock v3, OHDR v2 headers, link messages, attribute v3 messages.
#[test]
fn reads_h5py_v3_superblock_and_link_messages() {
    let f = read("ok_h5py_latest.h5");
    assert_eq!(f.version, 3);
    plain_tree_is_read(&f);
}

#[test]
fn finds_the_superblock_after_a_user_block() {
    let f = read("ok_h5py_userblock.h5");
    assert_eq!(f.superblock_offset, 512);
    plain_tree_is_read(&f);
    assert_eq!(find_superblock(&fixture("ok_h5py_plain.h5")), Some(0));
    assert_eq!(find_superblock(b"\x89HDF"), None);
}

#[test]
fn reads_keras_model_attributes_and_weight_tree() {
    let f = read("ok_keras_dense.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    let root = f.root().unwrap();
    let cfg = root.attribute("model_config").unwrap().as_str().unwrap();
    let v: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    assert_eq!(v["class_name"], "Sequential");
    assert_eq!(
        root.attribute("keras_version").unwrap().as_str().as_deref(),
        Some("3.15.1")
    );
    assert_eq!(
        root.attribute("backend").unwrap().as_str().as_deref(),
        Some("torch")
    );
    assert!(root.attribute("training_config").is_some());
    let mw = f
        .objects
        .iter()
        .find(|o| o.path == "/model_weights")
        .unwrap();
    assert_eq!(
        mw.attribute("layer_names").unwrap().strings(),
        vec!["dense"]
    );
    assert!(paths(&f).contains(&"/model_weights/dense/sequential/dense/kernel"));
}

#[test]
fn hard_links_and_loops_are_recorded_not_followed() {
    let f = read("ok_h5py_hardlink_cycle.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    assert_eq!(paths(&f), vec!["/", "/g", "/g/x"]);
    let mut aliases: Vec<(&str, &str, bool)> = f
        .aliases
        .iter()
        .map(|a| (a.path.as_str(), a.target.as_str(), a.cycle))
        .collect();
    aliases.sort_unstable();
    assert_eq!(
        aliases,
        vec![("/g/up", "/", true), ("/x_again", "/g/x", false)]
    );
}

#[test]
fn continuation_cycle_is_reported() {
    let f = read("mal_h5_continuation_cycle.h5");
    let root = f.root().unwrap();
    // Both attributes are read, the loop is not followed twice.
    assert_eq!(root.attributes.len(), 2);
    assert!(
        f.issues.iter().any(|i| matches!(&i.error,
            Error::Invalid { what, .. } if what.contains("cycle"))),
        "{:?}",
        f.issues
    );
}

#[test]
fn huge_counts_hit_limits_or_truncation() {
    let f = read("mal_h5_huge_counts.h5");
    assert!(
        f.issues.iter().any(|i| i.error.is_limit()),
        "{:?}",
        f.issues
    );
    assert!(
        f.issues
            .iter()
            .any(|i| matches!(i.error, Error::Truncated { .. })),
        "{:?}",
        f.issues
    );
}

#[test]
fn bad_superblocks_are_errors() {
    assert!(parse(b"", &Limits::default()).is_err());
    assert!(parse(b"\x89HDF\r\n\x1a\n", &Limits::default()).is_err());
    let mut d = fixture("ok_h5py_plain.h5");
    d[8] = 9; // superblock version
    assert!(matches!(
        parse(&d, &Limits::default()),
        Err(Error::Unsupported { .. })
    ));
    let mut d = fixture("ok_h5py_plain.h5");
    d[13] = 3; // size of offsets
    assert!(matches!(
        parse(&d, &Limits::default()),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn tight_limits_are_reported() {
    let d = fixture("ok_keras_dense.h5");
    let limits = Limits {
        max_objects: 3,
        ..Limits::default()
    };
    let f = parse(&d, &limits).unwrap();
    assert_eq!(f.objects.len(), 3);
    assert!(f.issues.iter().any(|i| i.error.is_limit()));
    let limits = Limits {
        max_depth: 1,
        ..Limits::default()
    };
    let f = parse(&d, &limits).unwrap();
    assert!(f.issues.iter().any(|i| i.error.is_limit()));
    let limits = Limits {
        max_value_bytes: 64,
        ..Limits::default()
    };
    let f = parse(&d, &limits).unwrap();
    assert!(f.issues.iter().any(|i| i.error.is_limit()));
}

/// Every prefix of a real file parses or fails cleanly.
#[test]
fn every_truncation_is_handled() {
    for name in [
        "ok_keras_dense.h5",
        "ok_h5py_latest.h5",
        "ok_h5py_dense_storage.h5",
        "mal_h5_pickle_dataset.h5",
        "mal_h5_pickle_dataset_unlimited.h5",
        "mal_h5_filtered_link_heap.h5",
        "mal_h5_shared_messages.h5",
    ] {
        let d = fixture(name);
        for n in (0..d.len()).step_by(3) {
            if let Ok(f) = parse(d.get(..n).unwrap(), &Limits::default()) {
                let _ = f.objects.len();
            }
        }
    }
}

/// Random byte flips, insertions and 0xff runs over real files never panic or hang.
#[test]
fn random_mutations_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for name in [
        "ok_h5py_plain.h5",
        "ok_h5py_latest.h5",
        "ok_keras_dense.h5",
        "ok_h5py_hardlink_cycle.h5",
        "mal_h5_pickle_dataset.h5",
        "mal_h5_pickle_dataset_v4.h5",
        "mal_h5_pickle_dataset_unlimited.h5",
        "mal_h5_filtered_link_heap.h5",
        "mal_h5_shared_messages.h5",
    ] {
        let orig = fixture(name);
        for _ in 0..400 {
            let mut d = orig.clone();
            for _ in 0..(1 + next() % 8) {
                let i = (next() as usize) % d.len();
                match next() % 3 {
                    0 => d[i] ^= 1 << (next() % 8),
                    1 => d[i] = 0xff,
                    _ => d[i] = (next() % 256) as u8,
                }
            }
            let _ = parse(&d, &Limits::default());
        }
    }
}

/// Survey a directory of real HDF5 files (`H5_SURVEY=/dir cargo test survey -- --ignored`).
#[test]
#[ignore]
fn survey() {
    let dir = std::env::var("H5_SURVEY").unwrap();
    let mut n = 0;
    for e in walk(std::path::Path::new(&dir)) {
        let d = std::fs::read(&e).unwrap();
        n += 1;
        match parse(&d, &Limits::default()) {
            Ok(f) => println!(
                "{}: v{} {} objects, {} issues {:?}",
                e.display(),
                f.version,
                f.objects.len(),
                f.issues.len(),
                f.issues
                    .iter()
                    .map(ToString::to_string)
                    .take(3)
                    .collect::<Vec<_>>()
            ),
            Err(err) => println!("{}: ERROR {err}", e.display()),
        }
    }
    println!("{n} files");
}

fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Files shipped in the PyTables 3.11.1 wheel (`tables/tests/`): soft links stored in an
/// old-style symbol table (cache type 2) and an external link message.
#[test]
fn pytables_soft_and_external_links() {
    let f = read("ok_pypi_tables_slink.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    let soft: Vec<(&str, &str)> = f
        .objects
        .iter()
        .flat_map(|o| &o.other_links)
        .map(|l| (l.name.as_str(), l.target.as_str()))
        .collect();
    assert_eq!(soft, vec![("arr2", "/arr"), ("pep2", "/pep")]);
    let f = read("ok_pypi_tables_elink.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    let pep = f.objects.iter().find(|o| o.path == "/pep").unwrap();
    assert_eq!(
        pep.other_links,
        vec![OtherLink {
            name: "pep2".into(),
            external_file: Some("elink2.h5".into()),
            target: "/pep".into()
        }]
    );
}

/// `libver="latest"` with 40 attributes and 200 groups: dense storage (fractal heaps, the
/// links' with indirect blocks).
#[test]
fn reads_dense_links_and_attributes() {
    let f = read("ok_h5py_dense_storage.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    let mut want: Vec<String> = (0..200).map(|i| format!("/g{i:03}")).collect();
    want.insert(0, "/".into());
    assert_eq!(paths(&f), want);
    let root = f.root().unwrap();
    let mut attrs: Vec<(String, Value)> = root
        .attributes
        .iter()
        .map(|a| (a.name.clone(), a.value.clone()))
        .collect();
    attrs.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(attrs.len(), 40);
    assert!(attrs.contains(&("attribute_039".to_string(), Value::Integers(vec![39]))));
}

/// An attribute too big for the heap's blocks ("huge" object, found through the heap's
/// huge-object B-tree) is read with the ten small ones.
#[test]
fn huge_dense_attribute_is_read() {
    let f = read("h5py_dense_huge_attribute.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    let root = f.root().unwrap();
    assert_eq!(root.attributes.len(), 11);
    assert_eq!(
        root.attribute("big").unwrap().value,
        Value::Floats(vec![0.0; 17000])
    );
    assert_eq!(
        root.attribute("a7").unwrap().value,
        Value::Integers(vec![7])
    );
    // Over the per-object huge-object budget: reported, the rest still read.
    let limits = Limits {
        max_value_bytes: 60_000,
        ..Limits::default()
    };
    let f = parse(&fixture("h5py_dense_huge_attribute.h5"), &limits).unwrap();
    assert_eq!(f.root().unwrap().attributes.len(), 10);
    assert!(
        f.issues.iter().any(|i| i.error.is_limit()),
        "{:?}",
        f.issues
    );
}

/// Deleted links and attributes leave stale objects in the heap: only the name index's
/// live entries are read (what h5py lists).
#[test]
fn dense_storage_after_deletions() {
    let f = read("ok_h5py_dense_deleted.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    let mut want = vec!["/".to_string(), "/g".to_string()];
    want.extend([1, 2, 4, 5, 7, 8, 10, 11].map(|i| format!("/group_{i:03}")));
    want.sort();
    assert_eq!(paths(&f), want);
    let mut attrs: Vec<&str> = f
        .root()
        .unwrap()
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    attrs.sort_unstable();
    assert_eq!(
        attrs,
        vec![
            "attribute_1",
            "attribute_10",
            "attribute_11",
            "attribute_2",
            "attribute_4",
            "attribute_5",
            "attribute_7",
            "attribute_8",
            "z"
        ]
    );
}

/// Found by the `hdf5_reader` fuzz target: a 4-GiB integer size overflowed `describe`.
#[test]
fn describe_never_overflows() {
    let t = Datatype::Integer {
        size: u32::MAX,
        signed: true,
        big_endian: false,
    };
    assert_eq!(t.describe(), "int34359738360");
    let crash = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus/hdf5_reader/crash_describe_int_bits"),
    )
    .unwrap();
    if let Ok(f) = parse(&crash, &Limits::default()) {
        for a in f.objects.iter().flat_map(|o| &o.attributes) {
            let _ = a.datatype.describe();
        }
    }
}

/// Version-2 structures carry checksums; every one in real h5py files matches, and a byte
/// changed inside an object header (here a fixed-length string value) is reported.
#[test]
fn checksums_are_verified() {
    for name in [
        "ok_h5py_latest.h5",
        "ok_h5py_dense_storage.h5",
        "ok_h5py_dense_deleted.h5",
    ] {
        assert!(read(name).issues.is_empty(), "{name}");
    }
    let mut d = fixture("ok_h5py_latest.h5");
    let at = d.windows(6).position(|w| w == b"catdog").unwrap();
    d[at] = b'b';
    let f = parse(&d, &Limits::default()).unwrap();
    assert_eq!(
        f.root().unwrap().attribute("labels").unwrap().strings(),
        vec!["bat", "dog"]
    );
    assert!(
        f.issues.iter().any(|i| matches!(&i.error,
            Error::Invalid { what, .. } if what.contains("checksum mismatch"))),
        "{:?}",
        f.issues
    );
    let mut d = fixture("ok_h5py_latest.h5");
    d[12] ^= 1; // base address byte inside the v3 superblock
    let f = parse(&d, &Limits::default()).unwrap();
    assert!(
        f.issues
            .iter()
            .any(|i| i.error.to_string().contains("superblock: checksum"))
    );
}

const PICKLE: &[u8] =
    b"\x80\x02cos\nsystem\nq\x00X\x16\x00\x00\x00echo modelgate-fixtureq\x01\x85q\x02Rq\x03.";

fn object<'f>(f: &'f Hdf5File, path: &str) -> &'f Object {
    f.objects.iter().find(|o| o.path == path).unwrap()
}

/// h5py byte, opaque and string datasets in contiguous, chunked (v1 B-tree, gzip +
/// shuffle) and compact layouts are read whole; the numeric dataset is not read.
#[test]
fn byte_datasets_are_read_in_every_layout() {
    let f = read("mal_h5_pickle_dataset.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    assert_eq!(object(&f, "/weights").data, None);
    for p in [
        "/payload/contiguous",
        "/payload/chunked",
        "/payload/compact",
    ] {
        let d = object(&f, p).data.as_ref().unwrap();
        assert_eq!(d.value, Value::Bytes(PICKLE.to_vec()), "{p}");
        assert!(!d.truncated);
    }
    let text = object(&f, "/payload/text").data.as_ref().unwrap();
    let Value::Strings(s) = &text.value else {
        panic!("{:?}", text.value)
    };
    assert_eq!(s.len(), 1);
    assert!(s[0].starts_with(b"gAJjb3MKc3lzdGVt"), "{s:?}");
}

/// Layout message version 4: a filtered single chunk, and a 2-D dataset in gzip+shuffle
/// chunks indexed by a fixed array, with edge chunks cut to the dataset's shape.
#[test]
fn layout_v4_chunk_indexes() {
    let f = read("mal_h5_pickle_dataset_v4.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    for p in ["/single", "/fixed"] {
        let d = object(&f, p).data.as_ref().unwrap();
        assert_eq!(d.value, Value::Bytes(PICKLE.to_vec()), "{p}");
    }
    let f = read("ok_h5py_byte_datasets.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    let image = object(&f, "/image").data.as_ref().unwrap();
    assert_eq!(image.value, Value::Bytes((0..=255u8).collect()));
    assert_eq!(
        object(&f, "/labels").data.as_ref().unwrap().value,
        Value::Strings(vec![b"cat".to_vec(), b"dog".to_vec(), b"bird".to_vec()])
    );
    assert_eq!(
        object(&f, "/names").data.as_ref().unwrap().value,
        Value::Strings(vec![b"alpha".to_vec(), b"beta".to_vec()])
    );
}

/// Datasets over the byte budget are read up to it and reported; the file budget too.
#[test]
fn dataset_budgets_are_reported() {
    let limits = Limits {
        max_dataset_bytes: 20,
        ..Limits::default()
    };
    let f = parse(&fixture("mal_h5_pickle_dataset.h5"), &limits).unwrap();
    let d = object(&f, "/payload/chunked").data.as_ref().unwrap();
    assert_eq!(d.value, Value::Bytes(PICKLE[..20].to_vec()));
    assert!(d.truncated);
    assert!(
        f.issues.iter().any(|i| i.path == "/payload/chunked"
            && i.error
                == Error::Limit {
                    what: BYTE_DATASET_PREFIX,
                    limit: 20
                }),
        "{:?}",
        f.issues
    );
    // A string dataset cut short loses elements: a different limit.
    let limits = Limits {
        max_dataset_bytes: 8,
        ..Limits::default()
    };
    let f = parse(&fixture("ok_h5py_byte_datasets.h5"), &limits).unwrap();
    assert!(
        f.issues.iter().any(|i| i.path == "/labels"
            && matches!(
                i.error,
                Error::Limit {
                    what: "bytes read of one string dataset",
                    ..
                }
            )),
        "{:?}",
        f.issues
    );
    let limits = Limits {
        max_data_bytes: 60,
        ..Limits::default()
    };
    let f = parse(&fixture("mal_h5_pickle_dataset.h5"), &limits).unwrap();
    assert!(
        f.issues.iter().any(|i| matches!(
            i.error,
            Error::Limit {
                what: "dataset bytes read for the file",
                ..
            }
        )),
        "{:?}",
        f.issues
    );
    // Decompression for the whole file (chunks and filtered heap blocks).
    let limits = Limits {
        max_decoded_bytes: 40,
        ..Limits::default()
    };
    for name in [
        "mal_h5_pickle_dataset_unlimited.h5",
        "mal_h5_filtered_link_heap.h5",
    ] {
        let f = parse(&fixture(name), &limits).unwrap();
        assert!(
            f.issues.iter().any(|i| matches!(
                i.error,
                Error::Limit {
                    what: "bytes decompressed for the file",
                    ..
                }
            )),
            "{name}: {:?}",
            f.issues
        );
    }
}

/// A group whose dense link storage is a deflate-filtered fractal heap (libhdf5 applies the
/// group's filter pipeline to it), with a 70000-byte link name stored as a huge filtered
/// heap object: every member is listed and walked.
#[test]
fn filtered_link_heap_and_huge_filtered_object() {
    let f = read("mal_h5_filtered_link_heap.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    let children: Vec<&str> = f
        .objects
        .iter()
        .filter(|o| o.path.starts_with("/g/") && o.path.matches('/').count() == 2)
        .map(|o| o.path.as_str())
        .collect();
    assert_eq!(children.len(), 21, "{children:?}");
    let long = format!("/g/{}", "x".repeat(70000));
    assert!(children.contains(&long.as_str()));
    let blob = object(&f, "/g/sub07/blob").data.as_ref().unwrap();
    assert_eq!(blob.value, Value::Bytes(PICKLE.to_vec()));
}

/// Shared object header messages (libhdf5 with a shared-message index for every type,
/// minimum size 1): dataspaces, datatypes and attributes live in the shared-message table's
/// fractal heap (small ones as tiny heap objects), and a committed datatype is named by a
/// dataset's and an attribute's header. All are resolved.
#[test]
fn shared_messages_are_resolved() {
    let f = read("mal_h5_shared_messages.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    let root = f.root().unwrap();
    assert_eq!(
        root.attribute("title").unwrap().as_str().as_deref(),
        Some("shared messages")
    );
    assert_eq!(
        root.attribute("tagged").unwrap().value,
        Value::Integers(vec![97, 98, 99])
    );
    let blob = object(&f, "/blob");
    assert_eq!(
        blob.kind,
        ObjectKind::Dataset {
            shape: vec![51],
            datatype: Some(Datatype::Integer {
                size: 1,
                signed: false,
                big_endian: false
            })
        }
    );
    assert_eq!(
        blob.data.as_ref().unwrap().value,
        Value::Bytes(PICKLE.to_vec())
    );
    for i in 0..3 {
        let w = object(&f, &format!("/w{i}"));
        assert_eq!(
            w.attribute("units").unwrap().as_str().as_deref(),
            Some("m/s")
        );
        assert_eq!(
            w.attribute("scale").unwrap().value,
            Value::Floats(vec![0.5])
        );
        assert!(
            matches!(&w.kind, ObjectKind::Dataset { shape, datatype: Some(_) } if shape == &vec![4, 4])
        );
    }
    assert_eq!(object(&f, "/bytes_t").kind, ObjectKind::NamedDatatype);
    // Dense attribute storage whose entries are shared messages.
    let dense = object(&f, "/dense");
    assert_eq!(dense.attributes.len(), 12);
    assert!(
        dense
            .attributes
            .iter()
            .all(|a| a.as_str().as_deref() == Some("shared value"))
    );
    // Proof that these were shared: with no resolution allowed, each is a limit issue and
    // the values are gone.
    let limits = Limits {
        max_shared_depth: 0,
        ..Limits::default()
    };
    let f = parse(&fixture("mal_h5_shared_messages.h5"), &limits).unwrap();
    let limited = f.issues.iter().filter(|i| i.error.is_limit()).count();
    assert!(limited >= 8, "{:?}", f.issues);
    assert_eq!(object(&f, "/blob").data, None);
    assert!(object(&f, "/w0").attribute("units").is_none());
}

/// Unlimited dimensions: extensible-array chunk indexes (filtered, plain, and 300 chunks
/// reaching its secondary blocks) and version-2 B-tree chunk indexes (filtered and plain).
#[test]
fn extensible_array_and_btree_v2_chunk_indexes() {
    let f = read("mal_h5_pickle_dataset_unlimited.h5");
    assert!(f.issues.is_empty(), "{:?}", f.issues);
    for p in ["/ea", "/ea_plain", "/bt2", "/bt2_plain"] {
        let d = object(&f, p).data.as_ref().unwrap();
        assert_eq!(d.value, Value::Bytes(PICKLE.to_vec()), "{p}");
    }
    let many = object(&f, "/ea_many").data.as_ref().unwrap();
    let mut want = PICKLE.to_vec();
    want.resize(300, 0);
    assert_eq!(many.value, Value::Bytes(want));
}

/// Time the parse of real files (`H5_BENCH=/a.h5:/b.h5 cargo test -p modelgate-formats
/// hdf5_bench -- --ignored --nocapture`).
#[test]
#[ignore]
fn hdf5_bench() {
    for p in std::env::var("H5_BENCH").unwrap().split(':') {
        let d = std::fs::read(p).unwrap();
        let t = std::time::Instant::now();
        let f = parse(&d, &Limits::default()).unwrap();
        let read: usize = f
            .objects
            .iter()
            .filter_map(|o| o.data.as_ref())
            .map(|x| match &x.value {
                Value::Bytes(b) => b.len(),
                Value::Strings(s) => s.iter().map(Vec::len).sum(),
                _ => 0,
            })
            .sum();
        println!(
            "{p}: {} bytes, {} objects, {read} dataset bytes read, {:?}",
            d.len(),
            f.objects.len(),
            t.elapsed()
        );
    }
}
