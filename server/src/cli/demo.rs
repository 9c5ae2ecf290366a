//! Demo data: one account with an owner, an admin, two members, a custom-role helpdesk user, a
//! Google sign-in user, and a few meetings, so a newcomer can try every flow at once.

use app::wire::SignInMethod;

use crate::crypto::Hasher;
use crate::domain::password::{is_common_password, NewPassword};
use crate::store::users::{self, NewUser};
use crate::store::{admin, meetings, Store};

/// The password every demo user signs in with (a development setting, printed at start-up).
pub const DEMO_PASSWORD: &str = "Sunny-Meadow-Lantern-42";

struct DemoUser {
    name: &'static str,
    email: &'static str,
    phone: Option<&'static str>,
    /// As stored: "owner", "admin", "member", or "custom" for the Helpdesk role.
    role: &'static str,
    method: SignInMethod,
    /// What the banner says the user is.
    shown_as: &'static str,
}

const DEMO_USERS: [DemoUser; 6] = [
    DemoUser {
        name: "Olivia Owner",
        email: "owner@example.com",
        phone: None,
        role: "owner",
        method: SignInMethod::Password,
        shown_as: "owner",
    },
    DemoUser {
        name: "Adam Admin",
        email: "admin@example.com",
        phone: None,
        role: "admin",
        method: SignInMethod::Password,
        shown_as: "admin",
    },
    DemoUser {
        name: "Maja Member",
        email: "maja@example.com",
        phone: Some("+46701234567"),
        role: "member",
        method: SignInMethod::Password,
        shown_as: "member",
    },
    DemoUser {
        name: "Mats Member",
        email: "mats@example.com",
        phone: Some("+46709876543"),
        role: "member",
        method: SignInMethod::Password,
        shown_as: "member",
    },
    DemoUser {
        name: "Hanna Helpdesk",
        email: "helpdesk@example.com",
        phone: None,
        role: "custom",
        method: SignInMethod::Password,
        shown_as: "Helpdesk (custom: users:view, users:edit)",
    },
    DemoUser {
        name: "Greta Google",
        email: "greta@example.com",
        phone: None,
        role: "member",
        method: SignInMethod::Google,
        shown_as: "member, signs in with Google",
    },
];

/// Does the database hold any user yet?
pub async fn has_users(store: &Store) -> Result<bool, String> {
    let mut c = store.conn().await.map_err(|e| e.to_string())?;
    Ok(users::count(&mut c).await.map_err(|e| e.to_string())? > 0)
}

/// Seeds the demo account when the database has no users; returns whether it did.
pub async fn seed_if_empty(store: &Store, hasher: &Hasher, now: i64) -> Result<bool, String> {
    if has_users(store).await? {
        return Ok(false);
    }
    let policy = app::policy::PolicyConfig::modern();
    let password = NewPassword::parse(
        &policy,
        DEMO_PASSWORD,
        DEMO_PASSWORD,
        &[],
        is_common_password,
    )
    .map_err(|v| format!("the demo password breaks the policy: {v:?}"))?;
    let hash = hasher.hash(&password).await?;
    insert_demo(store, &hash, now)
        .await
        .map_err(|e| e.to_string())?;
    Ok(true)
}

/// The demo account, its users (those with a password sign in with `hash`) and their meetings,
/// in one transaction.
async fn insert_demo(store: &Store, hash: &str, now: i64) -> Result<(), sqlx::Error> {
    let mut conn = store.conn().await?;
    let mut tx = store.begin_on(&mut conn).await?;
    let account = users::insert_account(&mut tx, "Example AB", now).await?;
    let helpdesk = admin::insert_role(
        &mut tx,
        account,
        "Helpdesk",
        &["users:view".into(), "users:edit".into()],
    )
    .await?;
    let mut ids = Vec::new();
    for u in DEMO_USERS {
        let id = users::insert(
            &mut tx,
            &NewUser {
                account_id: account,
                name: u.name,
                email: u.email,
                phone: u.phone,
                role: u.role,
                custom_role_id: (u.role == "custom").then_some(helpdesk),
                sign_in_method: u.method,
                password_hash: (u.method == SignInMethod::Password).then_some(hash),
                time_zone: "Europe/Stockholm",
            },
            now,
        )
        .await?;
        ids.push(id);
    }
    let day = 86_400;
    let start = now - now % 3600 + 3600;
    let plan: [(usize, &str, &str, i64, i64); 5] = [
        (0, "84512039771", "Quarterly planning", start + day, 60),
        (0, "91022337654", "All hands", start + 3 * day, 45),
        (2, "73340981265", "Design review", start + 2 * day, 30),
        (2, "70019283746", "1:1 with Olivia", start + 5 * day, 30),
        (3, "65543210987", "Customer call", start + day + 7200, 60),
    ];
    for (who, mid, topic, at, minutes) in plan {
        meetings::insert(&mut tx, ids[who], mid, topic, at, minutes).await?;
    }
    tx.commit().await
}

/// What `portal serve` and `portal demo` print after seeding: what to sign in with, after a first
/// line saying where (`serve --demo`) or how to get there (`portal demo`, which starts no server).
pub fn banner(first_line: &str) -> String {
    let mut s = format!("{first_line}\nSign in with any of these, password {DEMO_PASSWORD}:\n");
    for u in DEMO_USERS {
        s.push_str(&format!("  {:<22} {}\n", u.email, u.shown_as));
    }
    s
}
