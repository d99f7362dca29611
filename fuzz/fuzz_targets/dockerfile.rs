//! The Dockerfile base-image scanner (`drydock::dockerfile::scan`), which reads Dockerfiles of
//! untrusted build contexts. Each input is scanned twice: with default options, and with build
//! args and a `--target`.
#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use drydock::dockerfile::{self, ScanOptions, StageBase};
use drydock::reference::ImageRef;
use libfuzzer_sys::fuzz_target;

static WITH_ARGS: LazyLock<ScanOptions> = LazyLock::new(|| ScanOptions {
    build_args: BTreeMap::from(
        [("TAG", "1.0"), ("BASE", "alpine"), ("REGISTRY", "myreg.azurecr.io"), ("TARGETARCH", "amd64"), ("V", "")]
            .map(|(k, v)| (k.to_string(), v.to_string())),
    ),
    target: Some("build".into()),
});

fn check(text: &str, opts: &ScanOptions) {
    let Ok(deps) = dockerfile::scan(text, opts) else { return };
    let lines = text.split('\n').count() as u32;
    for (i, stage) in deps.stages.iter().enumerate() {
        if let StageBase::Stage(j) = stage.base {
            assert!(j < i, "stage {i} is built on stage {j}, which is not an earlier one");
        }
        assert!(stage.line >= 1 && stage.line <= lines, "stage line {} outside the {lines}-line file", stage.line);
    }
    // Every image the scanner reports must survive a print/parse round trip: base-image
    // triggers store them as text and parse them again.
    for image in deps.runtime.iter().chain(&deps.buildtime) {
        for text in [image.to_string(), image.familiar()] {
            match ImageRef::parse(&text) {
                Ok(again) => assert_eq!(&again, image, "`{text}` parses to another image"),
                Err(e) => panic!("reported image `{text}` does not parse again: {e}"),
            }
        }
    }
    let _ = dockerfile::dependency_json(deps.runtime.as_ref(), &deps, Some("0123abc"));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    check(text, &ScanOptions::default());
    check(text, &WITH_ARGS);
});
