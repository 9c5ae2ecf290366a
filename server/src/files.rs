//! Files the portal writes (the database and its WAL, the secret, the dev mailbox) are its own
//! user's alone: directories 0700, files 0600, from the moment they are created.
//!
//! A password-reset database that another local account can read gives it what a stolen backup
//! gives: hashes, sessions, the audit trail; a mailbox file gives it a live code (CWE-276 and
//! CWE-732, default and critical-resource permissions; OWASP Top 10 A05:2021).

use std::path::Path;

/// The process's file-creation mask, so whatever the portal or SQLite creates (the `-wal` and
/// `-shm` files, a rollback journal, files not thought of here) is owner-only. Set once at
/// start-up, before any thread that creates files runs.
pub fn restrict_umask() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates `dir` and its missing parents owner-only; an existing directory is left as it is
/// (the operator chose it).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Options that create a file owner-only (an existing file keeps its mode).
pub fn private_file_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}
