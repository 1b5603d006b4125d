//! Embeds the browser build of the core (`bindings-wasm/pkg`, made by
//! `npm run build`) for the dashboard's draft box, which hashes drafts in the
//! page with the same WebAssembly the bot's web tools use. Without that build
//! the files are empty and the draft box says so; the build script reruns
//! when they appear or change.

use std::path::Path;

const FILES: [&str; 3] = ["xbot_redis_bg.wasm", "xbot_redis.js", "index.js"];

fn main() {
    let pkg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bindings-wasm/pkg");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut all = true;
    for f in FILES {
        let src = pkg.join(f);
        println!("cargo:rerun-if-changed={}", src.display());
        match std::fs::read(&src) {
            Ok(bytes) => std::fs::write(out.join(f), bytes).expect("write OUT_DIR"),
            Err(_) => {
                all = false;
                std::fs::write(out.join(f), b"").expect("write OUT_DIR");
            }
        }
    }
    if !all {
        println!("cargo:warning=bindings-wasm/pkg is not built: the dashboard's draft box will be off (run `npm run build`, then build again)");
    }
}
