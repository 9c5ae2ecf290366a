//! Regressions of the security review (issue #13): each test performs the attack and expects it
//! to fail.

use app::wire::SignInMethod;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// An app with a custom role "Role desk" (`users:view`, `roles:manage`) held by
/// desk@a.test, an admin, and a member. Returns the app, the role's id and the member's id.
async fn role_desk() -> (TestApp, i64, i64) {
    let app = spawn_app().await;
    let mut c = app.store.conn().await.unwrap();
    let role = server::store::admin::insert_role(
        &mut c,
        app.account_id,
        "Role desk",
        &["users:view".into(), "roles:manage".into()],
    )
    .await
    .unwrap();
    drop(c);
    let desk = app
        .add_user("desk@a.test", "member", None, SignInMethod::Password)
        .await;
    app.add_user("admin@a.test", "admin", None, SignInMethod::Password)
        .await;
    let member = app
        .add_user("member@a.test", "member", None, SignInMethod::Password)
        .await;
    let mut c = app.store.conn().await.unwrap();
    server::store::users::set_role(&mut c, desk, "custom", Some(role))
        .await
        .unwrap();
    drop(c);
    (app, role, member)
}

async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let b = browser();
    assert_eq!(
        app.sign_in(&b, email, PASSWORD).await.status(),
        StatusCode::OK
    );
    b
}

/// Asserts the portal's 403 shape: `{error: "forbidden", message}` (`field` only when one is
/// at fault).
async fn assert_forbidden(r: reqwest::Response) -> serde_json::Value {
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body = json(r).await;
    assert_eq!(body["error"], "forbidden", "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}

async fn role_permissions(app: &TestApp, b: &reqwest::Client, id: i64) -> serde_json::Value {
    let roles = json(app.get(b, "/api/admin/roles").await).await;
    roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .map(|r| r["permissions"].clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_custom_role_with_roles_manage_cannot_edit_its_own_role_to_add_users_edit_and_then_change_a_members_password(
) {
    let (app, role, member) = role_desk().await;
    let desk = signed_in(&app, "desk@a.test").await;
    let r = desk
        .put(app.api(&format!("/api/admin/roles/{role}")))
        .json(&json!({ "name": "Role desk", "permissions": ["users:view", "roles:manage", "users:edit"] }))
        .send()
        .await
        .unwrap();
    assert_forbidden(r).await;
    // Nor by a rename that keeps the permissions, nor by deleting it.
    let r = desk
        .put(app.api(&format!("/api/admin/roles/{role}")))
        .json(&json!({ "name": "Desk", "permissions": ["users:view", "roles:manage"] }))
        .send()
        .await
        .unwrap();
    assert_forbidden(r).await;
    let r = desk
        .delete(app.api(&format!("/api/admin/roles/{role}")))
        .send()
        .await
        .unwrap();
    assert_forbidden(r).await;
    assert_eq!(
        role_permissions(&app, &desk, role).await,
        json!(["users:view", "roles:manage"])
    );

    let pw = "desk chosen passphrase one";
    let r = app
        .post(
            &desk,
            &format!("/api/admin/users/{member}/password"),
            json!({ "new_password": pw, "confirm_password": pw, "require_change": false }),
        )
        .await;
    assert_forbidden(r).await;
    assert_eq!(
        app.sign_in(&browser(), "member@a.test", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.audit_count("role_change_refused").await, 3);
    assert_eq!(app.audit_count("role_changed").await, 0);
}

#[tokio::test]
async fn a_custom_role_with_roles_manage_cannot_create_or_widen_a_role_with_a_permission_it_lacks()
{
    let (app, role, _) = role_desk().await;
    let desk = signed_in(&app, "desk@a.test").await;
    let r = app
        .post(
            &desk,
            "/api/admin/roles",
            json!({ "name": "Escalator", "permissions": ["users:view", "users:edit"] }),
        )
        .await;
    assert_forbidden(r).await;
    let roles = json(app.get(&desk, "/api/admin/roles").await).await;
    assert!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"] != "Escalator"),
        "{roles}"
    );
    // Within its own rights it still manages roles: create one, but not widen it afterwards.
    let r = app
        .post(
            &desk,
            "/api/admin/roles",
            json!({ "name": "Viewers", "permissions": ["users:view"] }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let viewers = json(r).await["id"].as_i64().unwrap();
    assert_ne!(viewers, role);
    let r = desk
        .put(app.api(&format!("/api/admin/roles/{viewers}")))
        .json(&json!({ "name": "Viewers", "permissions": ["users:view", "audit:view"] }))
        .send()
        .await
        .unwrap();
    assert_forbidden(r).await;
    assert_eq!(
        role_permissions(&app, &desk, viewers).await,
        json!(["users:view"])
    );
}

#[tokio::test]
async fn a_custom_role_manager_cannot_turn_a_colleague_into_a_member_to_take_their_account() {
    let app = spawn_app().await;
    let role = |name: &'static str, perms: &'static [&'static str]| {
        let app = &app;
        async move {
            let mut c = app.store.conn().await.unwrap();
            let perms: Vec<String> = perms.iter().map(|p| (*p).to_string()).collect();
            server::store::admin::insert_role(&mut c, app.account_id, name, &perms)
                .await
                .unwrap()
        }
    };
    let manager = role("Manager", &["users:view", "users:edit", "roles:manage"]).await;
    let auditor = role("Auditor", &["users:view", "audit:view"]).await;
    let helper = role("Helper", &["users:view", "users:edit"]).await;
    let spare = role("Spare", &["users:view"]).await;
    let mut holders = Vec::new();
    for (email, id) in [
        ("mallory@a.test", manager),
        ("alice@a.test", auditor),
        ("bob@a.test", helper),
    ] {
        let user = app
            .add_user(email, "member", None, SignInMethod::Password)
            .await;
        let mut c = app.store.conn().await.unwrap();
        server::store::users::set_role(&mut c, user, "custom", Some(id))
            .await
            .unwrap();
        holders.push(user);
    }
    let mallory = signed_in(&app, "mallory@a.test").await;
    let delete = |id: i64| {
        mallory
            .delete(app.api(&format!("/api/admin/roles/{id}")))
            .send()
    };
    // A stronger role, and a role within its own that a colleague holds: deleting either would
    // make its holder a member, whose password Mallory's users:edit may set.
    assert_forbidden(delete(auditor).await.unwrap()).await;
    assert_forbidden(delete(helper).await.unwrap()).await;
    let r = mallory
        .put(app.api(&format!("/api/admin/roles/{auditor}")))
        .json(&json!({ "name": "Auditor", "permissions": ["users:view"] }))
        .send()
        .await
        .unwrap();
    assert_forbidden(r).await;
    for (user, email) in [(holders[1], "alice"), (holders[2], "bob")] {
        let pw = "taken over passphrase 1";
        let r = app
            .post(
                &mallory,
                &format!("/api/admin/users/{user}/password"),
                json!({ "new_password": pw, "confirm_password": pw, "require_change": false }),
            )
            .await;
        assert_forbidden(r).await;
        let r = app
            .sign_in(&browser(), &format!("{email}@a.test"), PASSWORD)
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{email} keeps their password");
    }
    assert_eq!(app.audit_count("role_change_refused").await, 3);
    // A role nobody holds, within its own rights, it still deletes.
    assert_eq!(
        delete(spare).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn role_names_are_told_apart_regardless_of_case_and_invisible_characters() {
    let (app, _, _) = role_desk().await;
    let admin = signed_in(&app, "admin@a.test").await;
    let create = |name: &'static str| {
        app.post(
            &admin,
            "/api/admin/roles",
            json!({ "name": name, "permissions": ["users:view"] }),
        )
    };
    assert_eq!(create("Support").await.status(), StatusCode::CREATED);
    let r = create("SUPPORT").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(json(r).await["error"], "role_exists");
    let r = create("Sup\u{200B}port").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["field"], "name");
    let r = app
        .post(
            &admin,
            "/api/admin/roles",
            json!({ "name": "Policy", "permissions": ["settings:edit"] }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Renaming a role to its own name in another case is no clash.
    let roles = json(app.get(&admin, "/api/admin/roles").await).await;
    let id = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Support")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = admin
        .put(app.api(&format!("/api/admin/roles/{id}")))
        .json(&json!({ "name": "support", "permissions": ["users:view"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_admins_role_changes_are_audited() {
    let (app, _, _) = role_desk().await;
    let admin = signed_in(&app, "admin@a.test").await;
    let r = app
        .post(
            &admin,
            "/api/admin/roles",
            json!({ "name": "Support", "permissions": ["users:view"] }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = json(r).await["id"].as_i64().unwrap();
    let r = admin
        .put(app.api(&format!("/api/admin/roles/{id}")))
        .json(&json!({ "name": "Support desk", "permissions": ["users:view", "users:edit"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = admin
        .delete(app.api(&format!("/api/admin/roles/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for kind in ["role_created", "role_changed", "role_deleted"] {
        let events = json(
            app.get(&admin, &format!("/api/admin/audit?kind={kind}"))
                .await,
        )
        .await;
        let events = events.as_array().unwrap();
        assert_eq!(events.len(), 1, "{kind}: {events:?}");
        assert_eq!(events[0]["actor_email"], "admin@a.test");
    }
    let changed = json(app.get(&admin, "/api/admin/audit?kind=role_changed").await).await;
    let detail = changed[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("Support desk") && detail.contains("users:edit"),
        "{detail}"
    );
    assert_eq!(app.audit_count("role_change_refused").await, 0);
}

async fn change_password(
    app: &TestApp,
    b: &reqwest::Client,
    current: &str,
    new: &str,
) -> reqwest::Response {
    app.post(
        b,
        "/api/me/password",
        json!({ "current_password": current, "new_password": new, "confirm_password": new }),
    )
    .await
}

#[tokio::test]
async fn a_sixth_wrong_current_password_is_refused_with_retry_after_and_so_is_the_right_one_until_the_window_passes(
) {
    let app = spawn_app().await;
    app.add_user("member@a.test", "member", None, SignInMethod::Password)
        .await;
    let b = signed_in(&app, "member@a.test").await;
    for i in 0..5 {
        let r = change_password(&app, &b, &format!("wrong guess {i}"), NEW_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "guess {i}");
        assert_eq!(json(r).await["error"], "wrong_password");
    }
    assert_eq!(app.audit_count("password_change_failed").await, 5);
    for current in ["wrong guess 5", PASSWORD] {
        let r = change_password(&app, &b, current, NEW_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&wait), "{wait}");
        assert_eq!(json(r).await["error"], "rate_limited");
    }
    // A refused attempt was never evaluated: nothing more to audit.
    assert_eq!(app.audit_count("password_change_failed").await, 5);
    assert_eq!(app.audit_count("password_changed").await, 0);

    app.clock.advance(15 * 60 + 1);
    let r = change_password(&app, &b, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.sign_in(&browser(), "member@a.test", NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn twenty_concurrent_wrong_current_passwords_get_at_most_five_evaluated_and_the_rest_429() {
    let app = spawn_app().await;
    app.add_user("member@a.test", "member", None, SignInMethod::Password)
        .await;
    let b = signed_in(&app, "member@a.test").await;
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (b, url) = (b.clone(), app.api("/api/me/password"));
        guesses.spawn(async move {
            let guess = format!("concurrent guess {i}");
            b.post(url)
                .json(&json!({ "current_password": guess, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD }))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let (mut wrong, mut refused) = (0, 0);
    while let Some(status) = guesses.join_next().await {
        match status.unwrap() {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!((1..=5).contains(&wrong), "{wrong} guesses were evaluated");
    assert_eq!(wrong + refused, 20);
    assert_eq!(app.audit_count("password_change_failed").await, wrong);
    let r = change_password(&app, &b, PASSWORD, NEW_PASSWORD).await;
    if wrong == 5 {
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

#[tokio::test]
async fn a_current_password_typed_in_nfd_matches_the_one_stored_from_nfc_input() {
    let app = spawn_app().await;
    app.add_user("member@a.test", "member", None, SignInMethod::Password)
        .await;
    let b = signed_in(&app, "member@a.test").await;
    let nfc = "caf\u{e9} au lait every single morning";
    let nfd = "cafe\u{301} au lait every single morning";
    assert_eq!(
        change_password(&app, &b, PASSWORD, nfc).await.status(),
        StatusCode::NO_CONTENT
    );
    let r = change_password(&app, &b, nfd, NEW_PASSWORD).await;
    assert_eq!(
        r.status(),
        StatusCode::NO_CONTENT,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(app.audit_count("password_change_failed").await, 0);
}

#[tokio::test]
async fn a_right_current_password_gives_its_slot_back_so_only_wrong_ones_count() {
    let app = spawn_app().await;
    app.add_user("member@a.test", "member", None, SignInMethod::Password)
        .await;
    let b = signed_in(&app, "member@a.test").await;
    for i in 0..4 {
        let r = change_password(&app, &b, &format!("wrong guess {i}"), NEW_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        change_password(&app, &b, PASSWORD, NEW_PASSWORD)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let r = change_password(&app, &b, "wrong guess 4", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the fifth wrong one");
    let r = change_password(&app, &b, "wrong guess 5", PASSWORD).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the sixth wrong one"
    );
}

/// The longest run of digits in `text`, once `except` is taken out.
fn longest_number(text: &str, except: &str) -> usize {
    text.replace(except, "")
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn an_admins_send_password_reset_emails_only_a_link_and_the_link_sets_a_new_password() {
    let (app, _, member) = role_desk().await;
    let admin = signed_in(&app, "admin@a.test").await;
    let r = app
        .post(
            &admin,
            &format!("/api/admin/users/{member}/reset"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let mail = app.mail.wait_nth("member@a.test", 1).await;
    assert_eq!(
        mail.subject,
        "An administrator asked for a password reset for your account"
    );
    assert!(mail.text.contains("Test admin"), "{}", mail.text);
    let token = mail.link_token();
    assert!(mail
        .text
        .contains(&format!("http://portal.test/reset#token={token}")));
    // No code a person could type: nothing in the message is a 6-digit number.
    assert!(longest_number(&mail.text, &token) < 6, "{}", mail.text);
    assert!(longest_number(&mail.subject, &token) < 6);
    assert!(longest_number(&mail.html, &token) < 6, "{}", mail.html);

    let phone = browser();
    let r = app
        .post(&phone, "/api/reset/link", json!({ "token": token }))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.save(&phone, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["signed_in"], false);
    assert_eq!(
        app.sign_in(&browser(), "member@a.test", NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    // Used once, the link is spent.
    let r = app
        .post(&browser(), "/api/reset/link", json!({ "token": token }))
        .await;
    assert_eq!(r.status(), StatusCode::GONE);
}

#[tokio::test]
async fn an_admins_send_password_reset_speaks_swedish_to_a_swedish_user() {
    let (app, _, member) = role_desk().await;
    let mut c = app.store.conn().await.unwrap();
    sqlx::query("UPDATE users SET lang = 'sv' WHERE id = $1")
        .bind(member)
        .execute(&mut *c)
        .await
        .unwrap();
    drop(c);
    let admin = signed_in(&app, "admin@a.test").await;
    let r = app
        .post(
            &admin,
            &format!("/api/admin/users/{member}/reset"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let mail = app.mail.wait_nth("member@a.test", 1).await;
    assert_eq!(
        mail.subject,
        "En administratör har begärt en lösenordsåterställning för ditt konto"
    );
    assert!(
        mail.text.contains("Länken gäller i 24 timmar"),
        "{}",
        mail.text
    );
    assert!(longest_number(&mail.text, &mail.link_token()) < 6);
}
