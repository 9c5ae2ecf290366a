//! User Management: the whole permission matrix, and what a password change by an administrator does.

use app::wire::SignInMethod;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

struct World {
    app: TestApp,
    owner: i64,
    admin: i64,
    admin2: i64,
    member: i64,
    custom_user: i64,
    editor: i64,
    viewer: i64,
    sso: i64,
    foreign: i64,
}

async fn world() -> World {
    let app = spawn_app().await;
    let mut c = app.store.conn().await.unwrap();
    let editor_role = server::store::admin::insert_role(
        &mut c,
        app.account_id,
        "Editor",
        &["users:view".into(), "users:edit".into()],
    )
    .await
    .unwrap();
    let viewer_role =
        server::store::admin::insert_role(&mut c, app.account_id, "Viewer", &["users:view".into()])
            .await
            .unwrap();
    let plain_role = server::store::admin::insert_role(&mut c, app.account_id, "Plain", &[])
        .await
        .unwrap();
    let other_account = server::store::users::insert_account(&mut c, "Other AB", T0)
        .await
        .unwrap();
    drop(c);
    let owner = app
        .add_user("owner@a.test", "owner", None, SignInMethod::Password)
        .await;
    let admin = app
        .add_user("admin@a.test", "admin", None, SignInMethod::Password)
        .await;
    let admin2 = app
        .add_user("admin2@a.test", "admin", None, SignInMethod::Password)
        .await;
    let member = app
        .add_user("member@a.test", "member", None, SignInMethod::Password)
        .await;
    let custom_user = app
        .add_user("custom@a.test", "member", None, SignInMethod::Password)
        .await;
    let editor = app
        .add_user("editor@a.test", "member", None, SignInMethod::Password)
        .await;
    let viewer = app
        .add_user("viewer@a.test", "member", None, SignInMethod::Password)
        .await;
    let sso = app
        .add_user("sso@a.test", "member", None, SignInMethod::Apple)
        .await;
    app.add_user("plain@a.test", "member", None, SignInMethod::Password)
        .await;
    let foreign = app
        .add_user_in(
            other_account,
            "member@b.test",
            "member",
            None,
            SignInMethod::Password,
        )
        .await;
    let mut c = app.store.conn().await.unwrap();
    server::store::users::set_role(&mut c, custom_user, "custom", Some(plain_role))
        .await
        .unwrap();
    server::store::users::set_role(&mut c, editor, "custom", Some(editor_role))
        .await
        .unwrap();
    server::store::users::set_role(&mut c, viewer, "custom", Some(viewer_role))
        .await
        .unwrap();
    drop(c);
    World {
        app,
        owner,
        admin,
        admin2,
        member,
        custom_user,
        editor,
        viewer,
        sso,
        foreign,
    }
}

#[tokio::test]
async fn the_matrix_of_who_may_change_whose_password_and_send_a_reset() {
    let w = world().await;
    let app = &w.app;
    // Targets, in order: owner, admin2, member, custom-role user, SSO user, other account's user.
    let targets = [w.owner, w.admin2, w.member, w.custom_user, w.sso, w.foreign];
    // 200/204 = allowed; 403 = refused by role or account; 409 = an SSO user has no password here.
    let matrix: [(&str, [u16; 6]); 5] = [
        ("owner@a.test", [403, 204, 204, 204, 409, 403]),
        ("admin@a.test", [403, 403, 204, 204, 409, 403]),
        ("editor@a.test", [403, 403, 204, 403, 409, 403]),
        ("viewer@a.test", [403, 403, 403, 403, 403, 403]),
        ("plain@a.test", [403, 403, 403, 403, 403, 403]),
    ];
    let mut n = 0;
    for (actor, expected) in matrix {
        let b = browser();
        assert_eq!(
            app.sign_in(&b, actor, PASSWORD).await.status(),
            StatusCode::OK,
            "{actor}"
        );
        for (target, want) in targets.iter().zip(expected) {
            n += 1;
            let pw = format!("admin chosen passphrase {n}");
            let r = app
                .post(
                    &b,
                    &format!("/api/admin/users/{target}/password"),
                    json!({ "new_password": pw, "confirm_password": pw, "require_change": true }),
                )
                .await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            assert_eq!(
                status, want,
                "{actor} changes the password of user {target}: {body}"
            );
            if want == 403 {
                assert!(body.contains("\"error\":\"forbidden\""), "{body}");
            }
            let r = app
                .post(&b, &format!("/api/admin/users/{target}/reset"), json!({}))
                .await;
            assert_eq!(
                r.status().as_u16(),
                want,
                "{actor} sends a reset to user {target}"
            );
        }
    }
    // Nobody changed the owner: the owner still signs in with the original password.
    assert_eq!(
        app.sign_in(&browser(), "owner@a.test", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let _ = (w.admin, w.editor, w.viewer);
}

#[tokio::test]
async fn an_admin_password_change_signs_the_user_out_emails_them_and_forces_a_new_choice() {
    let w = world().await;
    let app = &w.app;
    let member_browser = browser();
    app.sign_in(&member_browser, "member@a.test", PASSWORD)
        .await;
    let admin = browser();
    app.sign_in(&admin, "admin@a.test", PASSWORD).await;
    let chosen = "temporary admin passphrase";
    let r = app
        .post(
            &admin,
            &format!("/api/admin/users/{}/password", w.member),
            json!({ "new_password": chosen, "confirm_password": chosen, "require_change": true }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&member_browser, "/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let mail = app.mail.wait_nth("member@a.test", 1).await;
    assert_eq!(
        mail.subject,
        "Your password was changed by an administrator"
    );
    assert!(mail.text.contains("Test admin"));
    assert_eq!(app.audit_count("admin_password_change").await, 1);

    let b = browser();
    let r = app.sign_in(&b, "member@a.test", chosen).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["must_change_password"], true);
    let r = app.get(&b, "/api/meetings").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(r).await["error"], "password_change_required");
    let r = app
        .post(&b, "/api/me/password", json!({ "current_password": "", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD }))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&b, "/api/meetings").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_user_list_searches_sorts_pages_and_says_what_the_viewer_may_do() {
    let w = world().await;
    let app = &w.app;
    let admin = browser();
    app.sign_in(&admin, "admin@a.test", PASSWORD).await;
    let page = json(app.get(&admin, "/api/admin/users?q=custom").await).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["users"][0]["email"], "custom@a.test");
    assert_eq!(page["users"][0]["role"], "Plain");
    let page = json(
        app.get(
            &admin,
            "/api/admin/users?sort=email&dir=desc&per_page=3&page=1",
        )
        .await,
    )
    .await;
    assert_eq!(page["total"], 9, "the other account's user is not listed");
    assert_eq!(page["users"].as_array().unwrap().len(), 3);
    assert_eq!(page["users"][0]["email"], "viewer@a.test");
    let all = json(app.get(&admin, "/api/admin/users?per_page=100").await).await;
    let row = |email: &str| {
        all["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()
            .clone()
    };
    assert_eq!(row("owner@a.test")["can_change_password"], false);
    assert_eq!(row("member@a.test")["can_change_password"], true);
    assert_eq!(row("sso@a.test")["disabled_reason"], "Signs in with Apple");
    assert_eq!(
        row("admin2@a.test")["disabled_reason"],
        "Your role does not allow changing this user's password."
    );
    let r = app.get(&admin, "/api/admin/users?sort=password_hash").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let member = browser();
    app.sign_in(&member, "member@a.test", PASSWORD).await;
    let r = app.get(&member, "/api/admin/users").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(r).await["error"], "forbidden");
}

#[tokio::test]
async fn sso_rows_say_why_actions_are_disabled_for_the_owner() {
    let w = world().await;
    let app = &w.app;
    let owner = browser();
    app.sign_in(&owner, "owner@a.test", PASSWORD).await;
    let all = json(app.get(&owner, "/api/admin/users?q=sso").await).await;
    assert_eq!(all["users"][0]["can_change_password"], false);
    assert_eq!(all["users"][0]["disabled_reason"], "Signs in with Apple");
}

#[tokio::test]
async fn unlock_clears_a_sign_in_lockout() {
    let w = world().await;
    let app = &w.app;
    for _ in 0..5 {
        app.sign_in(&browser(), "member@a.test", "not the right one")
            .await;
    }
    assert_eq!(
        app.sign_in(&browser(), "member@a.test", PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let admin = browser();
    app.sign_in(&admin, "admin@a.test", PASSWORD).await;
    let list = json(app.get(&admin, "/api/admin/users?q=member@a").await).await;
    assert_eq!(list["users"][0]["locked"], true);
    assert_eq!(
        app.post(
            &admin,
            &format!("/api/admin/users/{}/unlock", w.member),
            json!({})
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.sign_in(&browser(), "member@a.test", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn roles_can_be_created_renamed_assigned_and_deleted() {
    let w = world().await;
    let app = &w.app;
    let owner = browser();
    app.sign_in(&owner, "owner@a.test", PASSWORD).await;
    let r = app
        .post(
            &owner,
            "/api/admin/roles",
            json!({ "name": "Support", "permissions": ["users:view", "users:edit"] }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = json(r).await["id"].as_i64().unwrap();
    let r = app
        .post(
            &owner,
            "/api/admin/roles",
            json!({ "name": "Support", "permissions": [] }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = app
        .post(
            &owner,
            "/api/admin/roles",
            json!({ "name": "Bad", "permissions": ["root"] }),
        )
        .await;
    assert_eq!(json(r).await["error"], "invalid_permission");
    let r = owner
        .put(app.api(&format!("/api/admin/users/{}/role", w.member)))
        .json(&json!({ "role": "Support" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // The member now has full user management over members.
    let support = browser();
    app.sign_in(&support, "member@a.test", PASSWORD).await;
    assert_eq!(
        app.get(&support, "/api/admin/users").await.status(),
        StatusCode::OK
    );
    let r = owner
        .put(app.api(&format!("/api/admin/roles/{id}")))
        .json(&json!({ "name": "Support desk", "permissions": ["users:view"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = owner
        .delete(app.api(&format!("/api/admin/roles/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&support, "/api/admin/users").await.status(),
        StatusCode::FORBIDDEN
    );
    // Admins may not make admins.
    let admin = browser();
    app.sign_in(&admin, "admin@a.test", PASSWORD).await;
    let r = admin
        .put(app.api(&format!("/api/admin/users/{}/role", w.member)))
        .json(&json!({ "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_audit_log_and_settings_are_for_those_allowed() {
    let w = world().await;
    let app = &w.app;
    let owner = browser();
    app.sign_in(&owner, "owner@a.test", PASSWORD).await;
    let events = json(app.get(&owner, "/api/admin/audit?kind=sign_in").await).await;
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["kind"] == "sign_in"));
    assert!(!events.as_array().unwrap().is_empty());
    let r = owner.put(app.api("/api/admin/settings")).json(&json!({ "policy": { "kind": "classic", "min_length": 10, "max_length": 64, "history_depth": 3 } })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = owner.put(app.api("/api/admin/settings")).json(&json!({ "policy": { "kind": "classic", "min_length": 4, "max_length": 64, "history_depth": 3 } })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["field"], "min_length");
    let admin = browser();
    app.sign_in(&admin, "admin@a.test", PASSWORD).await;
    let r = admin.put(app.api("/api/admin/settings")).json(&json!({ "policy": { "kind": "modern", "min_length": 15, "max_length": 64, "history_depth": 5 } })).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the password policy belongs to the owner"
    );
    let viewer = browser();
    app.sign_in(&viewer, "viewer@a.test", PASSWORD).await;
    assert_eq!(
        app.get(&viewer, "/api/admin/audit").await.status(),
        StatusCode::FORBIDDEN
    );
}

/// The store decodes each text and 0/1 column into its type once, on either backend: the role
/// joined from a custom role, the sign-in method, the status, the must-change flag, the policy.
#[tokio::test]
async fn stored_users_roles_and_policies_read_back_typed() {
    use app::policy::{PolicyConfig, PolicyKind};
    use server::domain::permissions::Role;
    use server::store::{admin, users};

    let app = spawn_app().await;
    let id = app
        .add_user(
            "typed@a.test",
            "member",
            Some("+46701234567"),
            SignInMethod::Google,
        )
        .await;
    let mut c = app.store.conn().await.unwrap();
    let perms = vec!["users:view".to_string(), "users:edit".to_string()];
    let role = admin::insert_role(&mut c, app.account_id, "Helpdesk", &perms)
        .await
        .unwrap();
    users::set_role(&mut c, id, "custom", Some(role))
        .await
        .unwrap();
    users::set_password(&mut c, id, "not-a-hash", true, T0)
        .await
        .unwrap();
    let helpdesk = Role::Custom {
        id: role,
        name: "Helpdesk".into(),
        permissions: perms.clone(),
    };

    let u = users::by_id(&mut c, id).await.unwrap().unwrap();
    assert_eq!(u.role, helpdesk);
    assert_eq!(u.sign_in_method, SignInMethod::Google);
    assert_eq!(u.phone.as_deref(), Some("+46701234567"));
    assert!(u.active && u.must_change_password, "{u:?}");

    sqlx::query("UPDATE users SET status = 'deactivated' WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await
        .unwrap();
    users::set_password(&mut c, id, "not-a-hash", false, T0)
        .await
        .unwrap();
    let u = users::by_email(&mut c, "typed@a.test")
        .await
        .unwrap()
        .unwrap();
    assert!(!u.active && !u.must_change_password, "{u:?}");

    let (listed, total) = admin::list_users(
        &mut c,
        app.account_id,
        "typed",
        admin::Sort::Name,
        false,
        10,
        0,
    )
    .await
    .unwrap();
    assert_eq!(total, 1);
    assert_eq!(listed[0].role, helpdesk);
    assert_eq!(listed[0].sign_in_method, SignInMethod::Google);
    assert_eq!(listed[0].status, "deactivated");
    let roles = admin::roles(&mut c, app.account_id).await.unwrap();
    assert_eq!(roles[0].permissions, perms);

    // A delete that spares held roles leaves it; deleting the custom role outright leaves its
    // user a member.
    let held = admin::delete_role(&mut c, app.account_id, role, true).await;
    assert_eq!(held.unwrap(), admin::Deleted::Held);
    let deleted = admin::delete_role(&mut c, app.account_id, role, false).await;
    assert_eq!(deleted.unwrap(), admin::Deleted::Yes);
    let u = users::by_phone(&mut c, "+46701234567")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.role, Role::Member);

    let classic = PolicyConfig {
        kind: PolicyKind::Classic,
        min_length: 10,
        max_length: 80,
        history_depth: 24,
    };
    users::set_account_policy(&mut c, app.account_id, &classic)
        .await
        .unwrap();
    let (_, policy) = users::account_policy(&mut c, app.account_id).await.unwrap();
    assert_eq!(policy, classic);
}

#[tokio::test]
async fn a_reset_for_a_deactivated_user_is_refused_and_sends_nothing() {
    let w = world().await;
    let app = &w.app;
    {
        let mut c = app.store.conn().await.unwrap();
        server::store::users::set_active(&mut c, w.member, false)
            .await
            .unwrap();
    }
    let admin = browser();
    app.sign_in(&admin, "admin@a.test", PASSWORD).await;
    let r = app
        .post(
            &admin,
            &format!("/api/admin/users/{}/reset", w.member),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(json(r).await["error"], "user_deactivated");
    assert_eq!(app.audit_count("admin_reset_sent").await, 0);
    app.wait_outbox_settled().await;
    assert!(app.mail.to("member@a.test").is_empty());
}
