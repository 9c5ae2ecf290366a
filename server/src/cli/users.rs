//! Operator commands without a browser: add users, set passwords, manage custom roles.

use app::policy::Violation;
use app::wire::{permission, SignInMethod};

use crate::crypto::{Hasher, Keys};
use crate::domain::identifier::{EmailAddress, PhoneNumber};
use crate::domain::password::{is_common_password, NewPassword};
use crate::domain::permissions::{BadRole, Role, RoleSpec};
use crate::reset::change::{set_new_password, Change, ChangedBy};
use crate::store::users::{self, NewUser};
use crate::store::{admin, audit, reset, sessions, Store};

fn db<E: std::fmt::Display>(e: E) -> String {
    format!("database error: {e}")
}

/// A password the policy refuses, with every rule it breaks.
fn refused_password(v: &[Violation]) -> String {
    let rules: Vec<String> = v.iter().map(Violation::message).collect();
    format!("--password: {}", rules.join(" "))
}

async fn account(store: &Store, now: i64) -> Result<i64, String> {
    let mut c = store.conn().await.map_err(db)?;
    match users::first_account(&mut c).await.map_err(db)? {
        Some(a) => Ok(a),
        None => users::insert_account(&mut c, "Default account", now)
            .await
            .map_err(db),
    }
}

/// The user `--email` names.
async fn user_by_email(store: &Store, email: &str) -> Result<users::User, String> {
    let email = EmailAddress::parse(email).ok_or("--email: not a valid email address")?;
    let mut c = store.conn().await.map_err(db)?;
    users::by_email(&mut c, &email.lower())
        .await
        .map_err(db)?
        .ok_or_else(|| "--email: no such user".to_string())
}

async fn checked_hash(
    store: &Store,
    hasher: &Hasher,
    account_id: i64,
    name: &str,
    email: &str,
    password: &str,
) -> Result<String, String> {
    let mut c = store.conn().await.map_err(db)?;
    let (_, policy) = users::account_policy(&mut c, account_id)
        .await
        .map_err(db)?;
    let words = app::policy::forbidden_words(name, email);
    let pw = NewPassword::parse(&policy, password, password, &words, is_common_password)
        .map_err(|v| refused_password(&v))?;
    hasher.hash(&pw).await
}

#[allow(clippy::too_many_arguments)]
pub async fn add(
    store: &Store,
    hasher: &Hasher,
    region: phonenumber::country::Id,
    email: &str,
    phone: Option<&str>,
    name: Option<&str>,
    password: Option<String>,
    role: &str,
    sso: Option<&str>,
    now: i64,
) -> Result<String, String> {
    let email = EmailAddress::parse(email).ok_or("--email: not a valid email address")?;
    let phone = phone
        .map(|p| PhoneNumber::parse(p, region).ok_or("--phone: not a valid phone number"))
        .transpose()?;
    let method = match sso {
        None => SignInMethod::Password,
        Some(s) => SignInMethod::parse(s)
            .filter(|m| *m != SignInMethod::Password)
            .ok_or("--sso: one of google, apple, facebook, microsoft, saml")?,
    };
    let local_part = email.as_str().split('@').next().unwrap_or_default();
    let name = name.unwrap_or(local_part).to_string();
    let account_id = account(store, now).await?;
    let mut c = store.conn().await.map_err(db)?;
    let (stored_role, custom) = match role {
        "owner" | "admin" | "member" => (role, None),
        other => match admin::role_by_name(&mut c, account_id, other)
            .await
            .map_err(db)?
        {
            Some(r) => ("custom", Some(r.id)),
            None => {
                return Err(format!(
                    "--role: no role named '{other}' (owner, admin, member or a custom role)"
                ))
            }
        },
    };
    if stored_role == "owner" && users::has_owner(&mut c, account_id).await.map_err(db)? {
        return Err("--role: the account already has an owner (there is exactly one)".into());
    }
    drop(c);
    let hash = match (method, password) {
        (SignInMethod::Password, Some(p)) => {
            Some(checked_hash(store, hasher, account_id, &name, email.as_str(), &p).await?)
        }
        (_, Some(_)) => return Err("--password: SSO users have no password here".into()),
        (_, None) => None,
    };
    let mut c = store.conn().await.map_err(db)?;
    let mut tx = store.begin_on(&mut c).await.map_err(db)?;
    let r = users::insert(
        &mut tx,
        &NewUser {
            account_id,
            name: &name,
            email: email.as_str(),
            phone: phone.as_ref().map(PhoneNumber::e164),
            role: stored_role,
            custom_role_id: custom,
            sign_in_method: method,
            password_hash: hash.as_deref(),
            time_zone: "Europe/Stockholm",
        },
        now,
    )
    .await;
    let signs_in = match (method, &hash) {
        (SignInMethod::Password, Some(_)) => "signs in with the password given".to_string(),
        (SignInMethod::Password, None) => {
            "no password set: the user signs in after a reset".to_string()
        }
        (m, _) => format!("signs in with {}", m.display_name()),
    };
    match r {
        Ok(id) => {
            let what = format!("added as {role}; {signs_in}");
            audited(&mut tx, "user_added", account_id, Some(id), &what, now).await?;
            tx.commit().await.map_err(db)?;
            Ok(format!("added user {id} <{}>; {signs_in}", email.as_str()))
        }
        Err(e) if crate::store::is_unique_violation(&e) => {
            drop(tx);
            let taken = users::by_email(&mut c, &email.lower()).await.map_err(db)?;
            Err(match taken {
                Some(_) => format!("--email: a user with {} exists", email.as_str()),
                None => "--phone: a user with that phone number exists".to_string(),
            })
        }
        Err(e) => Err(db(e)),
    }
}

/// `portal user set-password`: the same change as every other path (flows, codes, links and
/// sessions ended, confirmation emailed, audited), so the command line is no back door.
#[allow(clippy::too_many_arguments)]
pub async fn set_password(
    store: &Store,
    hasher: &Hasher,
    keys: &Keys,
    templates: &crate::notify::templates::Templates,
    public_origin: &str,
    email: &str,
    password: &str,
    require_change: bool,
    now: i64,
) -> Result<String, String> {
    let user = user_by_email(store, email).await?;
    if user.sign_in_method != SignInMethod::Password {
        return Err(format!(
            "--email: this user signs in with {}",
            user.sign_in_method.display_name()
        ));
    }
    let change = Change {
        user: &user,
        by: ChangedBy::Operator { require_change },
        keep_session: None,
        origin: None,
        user_agent: None,
        public_origin,
        lang: crate::notify::templates::Lang::parse(&user.lang),
        templates,
    };
    // The same policy, blocklist and history as the API: the command line is no way around them.
    set_new_password(store, hasher, keys, &change, password, password, now)
        .await
        .map_err(|e| match e {
            crate::reset::Error::Refused(crate::reset::Refusal::Password(v)) => {
                refused_password(&v)
            }
            crate::reset::Error::Refused(r) => format!("refused: {r:?}"),
            crate::reset::Error::Store(e) => db(e),
            crate::reset::Error::Internal(e) => e,
        })?;
    Ok(format!(
        "password set for <{}>; all sessions signed out",
        user.email
    ))
}

pub async fn role_add(store: &Store, name: &str, perms: &str, now: i64) -> Result<String, String> {
    let listed: Vec<String> = perms
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let spec = match RoleSpec::parse(name, &listed) {
        Ok(spec) => spec,
        Err(BadRole::Name) if name.trim().is_empty() => {
            return Err("--name: must not be blank".into())
        }
        Err(BadRole::Name) => return Err("--name: 1 to 40 characters, all of them visible".into()),
        Err(BadRole::Reserved) => {
            let name = name.trim();
            return Err(format!(
                "--name: '{name}' is a built-in role; choose another name"
            ));
        }
        Err(BadRole::UnknownPermission(p)) => {
            return Err(format!("--permissions: unknown permission '{p}'"))
        }
        Err(BadRole::OwnerOnly) => {
            return Err(format!(
                "--permissions: {} belongs to the owner and no custom role",
                permission::SETTINGS_EDIT
            ))
        }
    };
    if spec.permissions().is_empty() {
        let assignable: Vec<&str> = permission::ALL
            .into_iter()
            .filter(|p| *p != permission::SETTINGS_EDIT)
            .collect();
        return Err(format!(
            "--permissions: at least one of {}",
            assignable.join(", ")
        ));
    }
    let account_id = account(store, now).await?;
    let mut c = store.conn().await.map_err(db)?;
    let name = spec.name();
    let exists = || Err(format!("--name: a role named '{name}' exists"));
    if admin::role_by_name(&mut c, account_id, name)
        .await
        .map_err(db)?
        .is_some()
    {
        return exists();
    }
    let mut tx = store.begin_on(&mut c).await.map_err(db)?;
    match admin::insert_role(&mut tx, account_id, name, spec.permissions()).await {
        Ok(id) => {
            let what = format!("{name}: {}", spec.permissions().join(","));
            audited(&mut tx, "role_created", account_id, None, &what, now).await?;
            tx.commit().await.map_err(db)?;
            Ok(format!("added role {id} '{name}'"))
        }
        Err(e) if crate::store::is_unique_violation(&e) => exists(),
        Err(e) => Err(db(e)),
    }
}

pub async fn role_assign(
    store: &Store,
    email: &str,
    role: &str,
    now: i64,
) -> Result<String, String> {
    if role.trim().is_empty() {
        return Err("--role: must not be blank".into());
    }
    let user = user_by_email(store, email).await?;
    if user.role == Role::Owner {
        return Err("--email: the owner's role cannot be changed".into());
    }
    let mut c = store.conn().await.map_err(db)?;
    let (stored, custom) = match role {
        "admin" | "member" => (role, None),
        "owner" => return Err("--role: there is exactly one owner".into()),
        other => match admin::role_by_name(&mut c, user.account_id, other)
            .await
            .map_err(db)?
        {
            Some(r) => ("custom", Some(r.id)),
            None => return Err(format!("--role: no role named '{other}'")),
        },
    };
    let mut tx = store.begin_on(&mut c).await.map_err(db)?;
    users::set_role(&mut tx, user.id, stored, custom)
        .await
        .map_err(db)?;
    let what = format!("role set to {role}");
    audited(
        &mut tx,
        "role_assigned",
        user.account_id,
        Some(user.id),
        &what,
        now,
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(format!("<{}> is now {role}", user.email))
}

/// `portal user list`: one line per user, as the admin panel lists them.
pub async fn list(store: &Store, search: &str) -> Result<String, String> {
    let mut c = store.conn().await.map_err(db)?;
    let Some(account_id) = users::first_account(&mut c).await.map_err(db)? else {
        return Ok("no users yet".into());
    };
    let (listed, total) = admin::list_users(
        &mut c,
        account_id,
        search,
        admin::Sort::Email,
        false,
        i64::MAX,
        0,
    )
    .await
    .map_err(db)?;
    let mut rows = vec![[
        "EMAIL".to_string(),
        "PHONE".into(),
        "ROLE".into(),
        "SIGNS IN WITH".into(),
        "STATUS".into(),
        "LAST SIGN-IN (UTC)".into(),
    ]];
    rows.extend(listed.into_iter().map(|u| {
        [
            u.email,
            u.phone.unwrap_or_else(|| "-".into()),
            u.role.name().to_string(),
            u.sign_in_method.display_name().to_string(),
            u.status,
            u.last_sign_in_at
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map_or_else(
                    || "never".into(),
                    |t| t.format("%Y-%m-%d %H:%M").to_string(),
                ),
        ]
    }));
    Ok(format!("{}{total} user(s)", table(&rows)))
}

/// Rows as columns padded to their widest cell, each line ending in a newline.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Audits a change made from the command line, in the caller's transaction: no actor and no
/// address, and the detail says where it came from (OWASP ASVS 5.0 16.3.2: administrative
/// actions are logged, whatever their route).
async fn audited(
    c: &mut crate::store::Conn,
    kind: &str,
    account_id: i64,
    target: Option<i64>,
    what: &str,
    now: i64,
) -> Result<(), String> {
    let detail = format!("{what}; from the command line");
    let event = audit::Event {
        kind,
        account_id: Some(account_id),
        target_user_id: target,
        detail: Some(&detail),
        ..Default::default()
    };
    audit::record(c, &event, now).await.map_err(db)
}

/// `portal user deactivate` / `activate`. Deactivating ends everything the user holds in one
/// transaction: sessions, reset flows, codes and links (OWASP ASVS 5.0 7.4.2: a disabled account's
/// sessions end at once), and is audited like every change made from the command line.
pub async fn set_active(
    store: &Store,
    email: &str,
    active: bool,
    now: i64,
) -> Result<String, String> {
    let user = user_by_email(store, email).await?;
    if !active && user.role == Role::Owner {
        return Err("--email: the owner cannot be deactivated".into());
    }
    let (state, kind) = match active {
        true => ("active", "user_activated"),
        false => ("deactivated", "user_deactivated"),
    };
    if user.active == active {
        return Ok(format!("<{}> is already {state}", user.email));
    }
    let mut conn = store.conn().await.map_err(db)?;
    let mut tx = store.begin_on(&mut conn).await.map_err(db)?;
    users::set_active(&mut tx, user.id, active)
        .await
        .map_err(db)?;
    if !active {
        sessions::revoke_all(&mut tx, user.id, None, now)
            .await
            .map_err(db)?;
        reset::end_user_flows(&mut tx, user.id).await.map_err(db)?;
        reset::revoke_user_codes(&mut tx, user.id, now)
            .await
            .map_err(db)?;
    }
    audited(&mut tx, kind, user.account_id, Some(user.id), state, now).await?;
    tx.commit().await.map_err(db)?;
    Ok(if active {
        format!("<{}> is active again", user.email)
    } else {
        format!("<{}> is deactivated and signed out everywhere", user.email)
    })
}

/// `portal role list`.
pub async fn role_list(store: &Store) -> Result<String, String> {
    let mut c = store.conn().await.map_err(db)?;
    let roles = match users::first_account(&mut c).await.map_err(db)? {
        Some(account_id) => admin::roles_with_holders(&mut c, account_id)
            .await
            .map_err(db)?,
        None => Vec::new(),
    };
    if roles.is_empty() {
        return Ok("no custom roles (built in: owner, admin, member)".into());
    }
    let mut rows = vec![["ROLE".to_string(), "PERMISSIONS".into(), "USERS".into()]];
    rows.extend(
        roles
            .into_iter()
            .map(|(r, holders)| [r.name, r.permissions.join(","), holders.to_string()]),
    );
    Ok(table(&rows).trim_end().to_string())
}
