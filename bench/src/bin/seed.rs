//! `seed`: fills a fresh database with the benchmark's users in seconds.
//!
//! Hashing 10,000 passwords one by one would take minutes, so one password is hashed once (with
//! the server's Argon2id parameters) and every user gets that hash. Users are written through
//! `server::store`, the same statements the portal and `portal user add` use, so each user also
//! gets the one password-history row a real account starts with.
//!
//! Two accounts are made:
//! - "Bench AB" with the default policy (history depth 5): `bench{n}@bench.test` for load and
//!   the reset flows, `probe{n}@bench.test` for the notification-latency probe;
//! - "Bench No History AB" with history depth 0: `nohist{n}@bench.test`, to show what the history
//!   check costs a Save.

use app::policy::PolicyConfig;
use app::wire::SignInMethod;
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Version};
use server::store::users::{self, NewUser};
use server::store::Store;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The password every seeded user has; the benchmark saves a different one.
const SEED_PASSWORD: &str = "Lantern-Meadow-Orbit-Seeded-2048";

struct Args {
    database_url: String,
    users: u32,
    probes: u32,
    no_history: u32,
}

fn usage() -> String {
    "usage: seed --database-url URL [--users 10000] [--probes 300] [--no-history 1500]".into()
}

fn args() -> Result<Args> {
    let mut a = Args {
        database_url: String::new(),
        users: 10_000,
        probes: 300,
        no_history: 1_500,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(usage)?;
        match flag.as_str() {
            "--database-url" => a.database_url = value,
            "--users" => a.users = value.parse()?,
            "--probes" => a.probes = value.parse()?,
            "--no-history" => a.no_history = value.parse()?,
            _ => return Err(usage().into()),
        }
    }
    if a.database_url.is_empty() {
        return Err(usage().into());
    }
    Ok(a)
}

/// Inserts `count` users named `{prefix}{n}@bench.test` into `account`.
async fn insert_users(
    tx: &mut server::store::Conn,
    account: i64,
    prefix: &str,
    count: u32,
    hash: &str,
    now: i64,
) -> Result<()> {
    for n in 1..=count {
        let email = format!("{prefix}{n}@bench.test");
        let name = format!("Bench Person {n}");
        users::insert(
            tx,
            &NewUser {
                account_id: account,
                name: &name,
                email: &email,
                phone: None,
                role: "member",
                custom_role_id: None,
                sign_in_method: SignInMethod::Password,
                password_hash: Some(hash),
                time_zone: "Europe/Stockholm",
            },
            now,
        )
        .await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
    )?;
    let params = server::crypto::default_params().map_err(|e| e.to_string())?;
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(SEED_PASSWORD.as_bytes(), &salt)
        .map_err(|e| e.to_string())?
        .to_string();

    let store = Store::connect(&a.database_url).await?;
    store.migrate().await?;
    let started = std::time::Instant::now();

    let mut conn = store.conn().await?;
    let mut tx = store.begin_on(&mut conn).await?;
    let main = users::insert_account(&mut tx, "Bench AB", now).await?;
    insert_users(&mut tx, main, "bench", a.users, &hash, now).await?;
    insert_users(&mut tx, main, "probe", a.probes, &hash, now).await?;
    let (_, policy) = users::account_policy(&mut tx, main).await?;
    let bare = users::insert_account(&mut tx, "Bench No History AB", now).await?;
    users::set_account_policy(
        &mut tx,
        bare,
        &PolicyConfig {
            history_depth: 0,
            ..policy
        },
    )
    .await?;
    insert_users(&mut tx, bare, "nohist", a.no_history, &hash, now).await?;
    tx.commit().await?;

    println!(
        "seeded {} bench + {} probe users (history depth {}, 1 stored hash each) and {} nohist \
         users (history depth 0) in {:.1} s",
        a.users,
        a.probes,
        policy.history_depth,
        a.no_history,
        started.elapsed().as_secs_f64()
    );
    println!("history_depth {}", policy.history_depth);
    Ok(())
}
