//! `argon2-rate`: how many Argon2id hashes per second this machine computes with the server's own
//! parameters, on one thread and on every core, so `script/bench` can say how close password saves
//! come to the hardware's ceiling.
//!
//! Each hash is what the server computes on Save: a PHC string with a fresh random salt
//! (`hash_password`), not a bare `hash_password_into`, so the comparison is like for like.
//!
//! It also times the other CPU-heavy step of a Save, the blocklist check
//! (`server::domain::password::is_common_password`, a zxcvbn estimate), which runs on the async executor.

use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Version};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The passphrase script/bench saves.
const PASSWORD: &str = "Velvet-Harbor-Quartz-Mosaic-7319";

/// Hashes for at least `budget` on one thread; returns (hashes, elapsed).
fn hash_for(budget: Duration) -> Result<(u64, Duration)> {
    let params = server::crypto::default_params().map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let password = PASSWORD.as_bytes();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        let salt = SaltString::generate(&mut OsRng);
        argon
            .hash_password(password, &salt)
            .map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok((n, start.elapsed()))
}

/// Hashes per second with `threads` std threads hashing side by side for `budget`.
fn rate(threads: usize, budget: Duration) -> Result<f64> {
    let handles: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || hash_for(budget)))
        .collect();
    let mut total = 0f64;
    for h in handles {
        let (n, took) = h.join().map_err(|_| "a hashing thread panicked")??;
        total += n as f64 / took.as_secs_f64();
    }
    Ok(total)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let secs: f64 = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 3.0,
    };
    let budget = Duration::from_secs_f64(secs);
    let cores = std::thread::available_parallelism().map(usize::from)?;
    let p = server::crypto::default_params().map_err(|e| e.to_string())?;
    // Warm up once: page faults on the first 19 MiB block are not what a running server pays.
    hash_for(Duration::from_millis(1))?;
    let one = rate(1, budget)?;
    let all = rate(cores, budget)?;
    let start = Instant::now();
    let mut checks = 0u32;
    while start.elapsed() < Duration::from_millis(500) {
        std::hint::black_box(server::domain::password::is_common_password(
            std::hint::black_box(PASSWORD),
        ));
        checks += 1;
    }
    let check_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(checks);
    // Machine-readable lines for script/bench, one fact each.
    println!(
        "params m={}KiB t={} p={}",
        p.m_cost(),
        p.t_cost(),
        p.p_cost()
    );
    println!("threads_1 {one:.1}");
    println!("threads_all {all:.1}");
    println!("cores {cores}");
    println!("blocklist_check_ms {check_ms:.2}");
    Ok(())
}
