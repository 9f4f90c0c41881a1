//! Picks the libtorch device and thread count.
//!
//! The binary links only libtorch_cpu: the linker drops libtorch_cuda.so under `--as-needed`
//! (tch-rs issue #980), and linking it unconditionally would stop the CPU-only install from
//! starting. So CUDA support is loaded at run time when the config asks for `auto` or `cuda`.

use sparq_config::Device as DeviceChoice;
use tch::Device;

use crate::AgentError;

/// The device to run on, and a note for the user when `auto` fell back to the CPU.
pub fn select_device(choice: DeviceChoice) -> Result<(Device, Option<String>), AgentError> {
    match choice {
        DeviceChoice::Cpu => Ok((Device::Cpu, None)),
        DeviceChoice::Auto => match load_cuda() {
            Ok(()) => Ok((Device::Cuda(0), None)),
            Err(why) => Ok((
                Device::Cpu,
                Some(format!("run.device = \"auto\": using the CPU ({why})")),
            )),
        },
        DeviceChoice::Cuda => load_cuda()
            .map(|()| Device::Cuda(0))
            .map(|d| (d, None))
            .map_err(|why| {
                AgentError::Device(format!(
                    "run.device = \"cuda\" but CUDA is unavailable: {why}"
                ))
            }),
    }
}

/// Loads libtorch's CUDA backend (once) and checks that a GPU answers.
fn load_cuda() -> Result<(), String> {
    static LOADED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    LOADED
        .get_or_init(|| {
            // SAFETY: loading libtorch's own CUDA library; its initialisers register the CUDA
            // hooks with the already-loaded libtorch_cpu, which is what we want.
            let lib = unsafe {
                libloading::os::unix::Library::open(
                    Some("libtorch_cuda.so"),
                    libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL,
                )
            };
            match lib {
                // Never unloaded: libtorch keeps pointers into it for the life of the process.
                Ok(lib) => std::mem::forget(lib),
                Err(e) => {
                    return Err(format!(
                        "libtorch_cuda.so could not be loaded: {}",
                        first_line(&e.to_string())
                    ));
                }
            }
            if tch::Cuda::is_available() {
                Ok(())
            } else {
                Err("libtorch found no CUDA device".to_string())
            }
        })
        .clone()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Sets libtorch's intra-op threads; 0 keeps libtorch's default. One thread is fastest for small
/// networks on few cores: more threads oversubscribe them (measured up to 15× slower on 2 cores).
pub fn set_threads(threads: u32) {
    if threads > 0 {
        tch::set_num_threads(threads as i32);
    }
}
