//! The C ABI (declared in `include/sparq_runtime.h`): load, free, act, q_values, sizes and the
//! last error's message. Errors come back as codes, never as an abort: every entry point catches
//! panics, and the message of the last failure on the calling thread is kept for
//! `sparq_last_error`.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::{Error, ErrorKind, Policy};

/// `SPARQ_OK`.
pub const OK: i32 = 0;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn fail(e: Error) -> i32 {
    let msg = CString::new(e.message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = msg);
    e.kind as i32
}

fn guard(f: impl FnOnce() -> Result<(), Error>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => OK,
        Ok(Err(e)) => fail(e),
        Err(_) => fail(Error::new(
            ErrorKind::Internal,
            "internal error in sparq-runtime (please report this)",
        )),
    }
}

fn null(what: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{what} is NULL"))
}

/// # Safety
/// `path` must be NULL or a NUL-terminated string; `out` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sparq_policy_load(path: *const c_char, out: *mut *mut Policy) -> i32 {
    guard(|| {
        if path.is_null() || out.is_null() {
            return Err(null("path or out"));
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let p = unsafe { CStr::from_ptr(path) }
            .to_str()
            .map_err(|_| Error::new(ErrorKind::InvalidArgument, "path is not UTF-8"))?;
        let policy = Policy::load(p)?;
        // SAFETY: out is writable.
        unsafe { *out = Box::into_raw(Box::new(policy)) };
        Ok(())
    })
}

/// # Safety
/// `data` must point to `len` readable bytes; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sparq_policy_load_bytes(
    data: *const u8,
    len: usize,
    out: *mut *mut Policy,
) -> i32 {
    guard(|| {
        if data.is_null() || out.is_null() {
            return Err(null("data or out"));
        }
        // SAFETY: the caller guarantees `len` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(data, len) };
        let policy = Policy::from_bytes(bytes)?;
        // SAFETY: out is writable.
        unsafe { *out = Box::into_raw(Box::new(policy)) };
        Ok(())
    })
}

/// # Safety
/// `policy` must be NULL or come from a load call, and not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sparq_policy_free(policy: *mut Policy) {
    if !policy.is_null() {
        // SAFETY: created by Box::into_raw in a load call.
        drop(unsafe { Box::from_raw(policy) });
    }
}

/// # Safety
/// `policy` must be NULL or a live policy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sparq_policy_obs_len(policy: *const Policy) -> usize {
    // SAFETY: NULL or live.
    unsafe { policy.as_ref() }.map_or(0, Policy::obs_len)
}

/// # Safety
/// `policy` must be NULL or a live policy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sparq_policy_num_actions(policy: *const Policy) -> usize {
    // SAFETY: NULL or live.
    unsafe { policy.as_ref() }.map_or(0, Policy::num_actions)
}

/// # Safety
/// `policy` live; `obs` `obs_count` readable floats; `q` `q_count` writable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sparq_policy_q_values(
    policy: *mut Policy,
    obs: *const f32,
    obs_count: usize,
    q: *mut f32,
    q_count: usize,
) -> i32 {
    guard(|| {
        // SAFETY: NULL or live, not aliased during the call.
        let p = unsafe { policy.as_mut() }.ok_or_else(|| null("policy"))?;
        if obs.is_null() || q.is_null() {
            return Err(null("obs or q"));
        }
        // SAFETY: the caller guarantees the lengths.
        let (o, qs) = unsafe {
            (
                std::slice::from_raw_parts(obs, obs_count),
                std::slice::from_raw_parts_mut(q, q_count),
            )
        };
        p.q_values(o, qs)
    })
}

/// # Safety
/// `policy` live; `obs` `obs_count` readable floats; `actions` `actions_count` writable ints.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sparq_policy_act(
    policy: *mut Policy,
    obs: *const f32,
    obs_count: usize,
    actions: *mut i32,
    actions_count: usize,
) -> i32 {
    guard(|| {
        // SAFETY: NULL or live, not aliased during the call.
        let p = unsafe { policy.as_mut() }.ok_or_else(|| null("policy"))?;
        if obs.is_null() || actions.is_null() {
            return Err(null("obs or actions"));
        }
        // SAFETY: the caller guarantees the lengths.
        let (o, a) = unsafe {
            (
                std::slice::from_raw_parts(obs, obs_count),
                std::slice::from_raw_parts_mut(actions, actions_count),
            )
        };
        if a.len() == 1 {
            a[0] = p.act(o)? as i32;
            return Ok(());
        }
        let mut buf = [0usize; 64];
        let n = o.len() / p.obs_len().max(1);
        if a.len() != n {
            return Err(Error::new(
                ErrorKind::OutputLength,
                format!("action buffer has {} entries for {n} observations", a.len()),
            ));
        }
        let len = p.obs_len();
        for (oc, ac) in o.chunks(64 * len).zip(a.chunks_mut(64)) {
            p.act_batch(oc, &mut buf[..ac.len()])?;
            for (d, s) in ac.iter_mut().zip(&buf) {
                *d = *s as i32;
            }
        }
        Ok(())
    })
}

/// The message of the last failed call on this thread ("" if none); valid until the next call.
#[unsafe(no_mangle)]
pub extern "C" fn sparq_last_error() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().as_ptr())
}
