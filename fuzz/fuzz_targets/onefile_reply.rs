//! Fuzzes every way the OneFile client reads a reply body: it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    picsync_onefile::fuzzing::parse_every_way(data);
});
