//! Every URL of the app, named once. Links, redirects and the route table all go through
//! [`Page`], so a renamed URL is one edit.

use leptos_router::StaticSegment;

/// A page of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Home,
    SignIn,
    ForgotPassword,
    /// The page an emailed reset link opens (`/reset#token=…`).
    ResetLink,
    Meetings,
    ChangePassword,
    /// The forced change after an administrator set the password.
    ChoosePassword,
    AdminUsers,
    AdminRoles,
    AdminAudit,
    AdminSettings,
}

impl Page {
    /// The path, always starting with `/`.
    pub const fn path(self) -> &'static str {
        match self {
            Self::Home => "/",
            Self::SignIn => "/signin",
            Self::ForgotPassword => "/forgot_password",
            Self::ResetLink => "/reset",
            Self::Meetings => "/meetings",
            Self::ChangePassword => "/profile/password",
            Self::ChoosePassword => "/choose_password",
            Self::AdminUsers => "/admin/users",
            Self::AdminRoles => "/admin/roles",
            Self::AdminAudit => "/admin/audit",
            Self::AdminSettings => "/admin/settings",
        }
    }

    /// The path as the router's two static segments (the second empty for one-level paths), so
    /// the route table reads its paths from here.
    pub fn segments(self) -> (StaticSegment<&'static str>, StaticSegment<&'static str>) {
        let mut parts = self.path().trim_start_matches('/').splitn(2, '/');
        (
            StaticSegment(parts.next().unwrap_or_default()),
            StaticSegment(parts.next().unwrap_or_default()),
        )
    }

    /// The sign-in page, returning to `next` afterwards: `/signin?next=%2Fmeetings`.
    pub fn sign_in_then(next: &str) -> String {
        format!("{}?next={}", Self::SignIn.path(), encode_query_value(next))
    }
}

/// Percent-encodes a query value exactly as `encodeURIComponent` does (so `/meetings` becomes
/// `%2Fmeetings`), without a call into JavaScript, so it is testable on any target.
fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `?next=` target when it is a path on this site: it starts with one `/` and holds nothing a
/// browser would read as another origin (`//evil`, `/\evil`) or a control character. Anything
/// else is an open redirect (OWASP ASVS 5.0 3.7.2) and is ignored.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/meetings"), Some("/meetings"));
        assert_eq!(safe_next("/admin/users?q=ann"), Some("/admin/users?q=ann"));
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("javascript:alert(1)"), None);
        assert_eq!(safe_next("/x\ny"), None);
        assert_eq!(safe_next(""), None);
    }

    #[test]
    fn the_return_path_is_encoded_like_encode_uri_component() {
        assert_eq!(Page::sign_in_then("/meetings"), "/signin?next=%2Fmeetings");
        assert_eq!(
            Page::sign_in_then("/admin/users?q=å b&x=1#f"),
            "/signin?next=%2Fadmin%2Fusers%3Fq%3D%C3%A5%20b%26x%3D1%23f"
        );
    }

    #[test]
    fn every_path_splits_into_two_segments() {
        assert_eq!(Page::AdminUsers.segments().0 .0, "admin");
        assert_eq!(Page::AdminUsers.segments().1 .0, "users");
        assert_eq!(Page::SignIn.segments().0 .0, "signin");
        assert_eq!(Page::SignIn.segments().1 .0, "");
        assert_eq!(Page::Home.segments().0 .0, "");
    }
}
