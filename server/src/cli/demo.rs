//! Demo data: one account with an owner, an admin, two members, a custom-role helpdesk user, a
//! Google sign-in user, and a few meetings, so a newcomer can try every flow at once.

use app::wire::SignInMethod;

use crate::crypto::Hasher;
use crate::domain::password::{is_common_password, NewPassword};
use crate::store::users::{self, NewUser};
use crate::store::{admin, meetings, Store};

/// The password every demo user signs in with (a development setting, printed at start-up).
pub const DEMO_PASSWORD: &str = "Sunny-Meadow-Lantern-42";

pub struct DemoUser {
    pub email: &'static str,
    pub role: &'static str,
}

pub const DEMO_USERS: [DemoUser; 6] = [
    DemoUser {
        email: "owner@example.com",
        role: "owner",
    },
    DemoUser {
        email: "admin@example.com",
        role: "admin",
    },
    DemoUser {
        email: "maja@example.com",
        role: "member",
    },
    DemoUser {
        email: "mats@example.com",
        role: "member",
    },
    DemoUser {
        email: "helpdesk@example.com",
        role: "Helpdesk (custom: users:view, users:edit)",
    },
    DemoUser {
        email: "greta@example.com",
        role: "member, signs in with Google",
    },
];

/// Name, email, phone, stored role, custom role, sign-in method.
type Person<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    Option<i64>,
    SignInMethod,
);

/// Does the database hold any user yet?
pub async fn has_users(store: &Store) -> Result<bool, String> {
    let mut c = store.conn().await.map_err(|e| e.to_string())?;
    Ok(users::count(&mut c).await.map_err(|e| e.to_string())? > 0)
}

/// Seeds the demo account when the database has no users; returns whether it did.
pub async fn seed_if_empty(store: &Store, hasher: &Hasher, now: i64) -> Result<bool, String> {
    let mut c = store.conn().await.map_err(|e| e.to_string())?;
    if users::count(&mut c).await.map_err(|e| e.to_string())? > 0 {
        return Ok(false);
    }
    drop(c);
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
    let mut conn = store.conn().await.map_err(|e| e.to_string())?;
    let mut tx = store.begin_on(&mut conn).await.map_err(|e| e.to_string())?;
    let account = users::insert_account(&mut tx, "Example AB", now)
        .await
        .map_err(|e| e.to_string())?;
    let helpdesk = admin::insert_role(
        &mut tx,
        account,
        "Helpdesk",
        &["users:view".into(), "users:edit".into()],
    )
    .await
    .map_err(|e| e.to_string())?;
    let people: [Person; 6] = [
        (
            "Olivia Owner",
            "owner@example.com",
            None,
            "owner",
            None,
            SignInMethod::Password,
        ),
        (
            "Adam Admin",
            "admin@example.com",
            None,
            "admin",
            None,
            SignInMethod::Password,
        ),
        (
            "Maja Member",
            "maja@example.com",
            Some("+46701234567"),
            "member",
            None,
            SignInMethod::Password,
        ),
        (
            "Mats Member",
            "mats@example.com",
            Some("+46709876543"),
            "member",
            None,
            SignInMethod::Password,
        ),
        (
            "Hanna Helpdesk",
            "helpdesk@example.com",
            None,
            "custom",
            Some(helpdesk),
            SignInMethod::Password,
        ),
        (
            "Greta Google",
            "greta@example.com",
            None,
            "member",
            None,
            SignInMethod::Google,
        ),
    ];
    let mut ids = Vec::new();
    for (name, email, phone, role, custom, method) in people {
        let pw = (method == SignInMethod::Password).then_some(hash.as_str());
        let id = users::insert(
            &mut tx,
            &NewUser {
                account_id: account,
                name,
                email,
                phone,
                role,
                custom_role_id: custom,
                sign_in_method: method,
                password_hash: pw,
                time_zone: "Europe/Stockholm",
            },
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
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
        meetings::insert(&mut tx, ids[who], mid, topic, at, minutes)
            .await
            .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(true)
}

/// What `portal serve` and `portal demo` print after seeding.
/// What to sign in with, after a first line saying where (`serve --demo`) or how to get there
/// (`portal demo`, which starts no server).
pub fn banner(first_line: &str) -> String {
    let mut s = format!("{first_line}\nSign in with any of these, password {DEMO_PASSWORD}:\n");
    for u in DEMO_USERS {
        s.push_str(&format!("  {:<22} {}\n", u.email, u.role));
    }
    s
}
