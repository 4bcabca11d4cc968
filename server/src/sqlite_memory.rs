//! SQLite's own memory through mimalloc, the allocator of the rest of the server.
//!
//! SQLite calls the C library's `malloc` unless told otherwise, and glibc gives every thread
//! that allocates an arena of its own: after a mix of 200,000 catalog requests on 100,000
//! products, the arenas of the four SQLite connection threads held 26–29 MB of the server's
//! 101–105 MB (`/proc/PID/smaps`), pages that mimalloc's heap would have reused or given back.
//! SQLite's memory statistics go too: they take a global mutex around every allocation, for
//! `sqlite3_memory_used` and the soft heap limit, which Kassa does not use.

use std::ffi::{c_int, c_void};

use libsqlite3_sys as ffi;

unsafe extern "C" fn malloc(size: c_int) -> *mut c_void {
    // SQLite never asks for a negative size; 0 gives a valid pointer either way.
    unsafe { libmimalloc_sys::mi_malloc(size.max(0) as usize) }
}

unsafe extern "C" fn free(pointer: *mut c_void) {
    unsafe { libmimalloc_sys::mi_free(pointer) }
}

unsafe extern "C" fn realloc(pointer: *mut c_void, size: c_int) -> *mut c_void {
    unsafe { libmimalloc_sys::mi_realloc(pointer, size.max(0) as usize) }
}

/// What SQLite may use of an allocation (0 for null): it keeps no sizes of its own.
unsafe extern "C" fn size(pointer: *mut c_void) -> c_int {
    let usable = unsafe { libmimalloc_sys::mi_usable_size(pointer) };
    usable.min(c_int::MAX as usize) as c_int
}

unsafe extern "C" fn roundup(size: c_int) -> c_int {
    let good = unsafe { libmimalloc_sys::mi_good_size(size.max(0) as usize) };
    good.min(c_int::MAX as usize) as c_int
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}

/// Routes SQLite's allocations to mimalloc and turns its memory statistics off. Call it before
/// anything in the process opens a SQLite database: SQLite can only be configured before it
/// starts, and then answers an error, which is returned (SQLite keeps working with `malloc`).
pub fn use_mimalloc() -> Result<(), String> {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLite copies the structure before returning; the functions live for the
    // program. Not thread-safe: it runs before any other thread touches SQLite (see above).
    let code = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods) };
    if code != ffi::SQLITE_OK {
        return Err(format!("SQLITE_CONFIG_MALLOC answered {code}"));
    }
    let code = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
    if code != ffi::SQLITE_OK {
        return Err(format!("SQLITE_CONFIG_MEMSTATUS answered {code}"));
    }
    Ok(())
}
