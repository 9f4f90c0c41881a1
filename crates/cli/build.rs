// Bake libtorch's lib dir into this package's binaries and tests as a RUNPATH, so they start without
// LD_LIBRARY_PATH (cargo overrides that variable). torch-sys exports the dir as DEP_TCH_LIBTORCH_LIB
// to packages that depend on it directly. RUNPATH (new dtags) still lets LD_LIBRARY_PATH override
// it, e.g. to point at a CUDA build of the same torch on a GPU machine.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,--enable-new-dtags,-rpath,{dir}");
    }
}
