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
