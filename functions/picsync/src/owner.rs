//! Who runs a sync here (R39 after a crash): the CLI names itself `cli:<host>:<pid>` on the runs
//! it starts, so that a run of a `picsync sync` that was killed (OOM, reboot, `kill -9`) on this
//! host is taken over at once by the next one, rather than after its lease lapses (90 s).

use std::path::Path;

/// How long the CLI's lease lasts without renewal; it is renewed every third of it, so a run
/// of a process that died elsewhere (another host sharing the state) is free within 90 s.
pub(crate) const LEASE_TTL: chrono::Duration = chrono::Duration::seconds(90);

/// This host's name (Linux: the kernel's; elsewhere `$HOSTNAME`).
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// This process, as recorded on its runs.
pub(crate) fn this_process() -> String {
    format!("cli:{}:{}", host(), std::process::id())
}

/// True when `owner` is a CLI process of this host that is gone (or a zombie). Anything else
/// (a Lambda run, another host, a system without `/proc`) is not known to be dead.
pub(crate) fn dead(owner: &str) -> bool {
    let Some((h, pid)) = owner
        .strip_prefix("cli:")
        .and_then(|rest| rest.rsplit_once(':'))
    else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    let proc = Path::new("/proc");
    if h != host() || !proc.join("self").exists() {
        return false;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        Err(_) => true,
        // "<pid> (<name>) <state> …": a zombie has exited
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r39_this_process_is_alive_and_others_are_not_judged() {
        assert!(!dead(&this_process()));
        assert!(!dead("lambda"));
        assert!(!dead("cli:some-other-host:1"));
        assert!(!dead("cli:nonsense"));
        // a pid that cannot exist on Linux (above pid_max's ceiling)
        let gone = format!("cli:{}:{}", host(), 4_194_305 + 1000);
        assert_eq!(dead(&gone), Path::new("/proc/self").exists());
    }
}
