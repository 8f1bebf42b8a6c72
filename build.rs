//! The shipped `rules/` directory is compiled into the binary
//! (`src/defaults.rs`, `include_dir!`); rebuild when any file in it changes.
fn main() {
    println!("cargo:rerun-if-changed=rules");
}
