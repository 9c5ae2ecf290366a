//! One polite live region for the whole app, and [`announce`] to speak through it.

use leptos::prelude::*;

#[derive(Clone, Copy)]
struct Announcer(RwSignal<String>);

/// Creates the announcer; call once in `App`, above [`LiveRegion`].
pub fn provide_announcer() {
    provide_context(Announcer(RwSignal::new(String::new())));
}

/// Says `message` to screen readers without moving focus. Clearing first makes a repeated
/// message ("Code sent to …" twice) be read again.
pub fn announce(message: impl Into<String>) {
    if let Some(Announcer(text)) = use_context::<Announcer>() {
        let message = message.into();
        text.set(String::new());
        set_timeout(
            move || text.set(message),
            std::time::Duration::from_millis(100),
        );
    }
}

/// The visually hidden `role=status` region that [`announce`] writes to.
#[component]
pub fn LiveRegion() -> impl IntoView {
    let text = use_context::<Announcer>().map(|a| a.0);
    view! {
        <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
            {move || text.map(|t| t.get()).unwrap_or_default()}
        </div>
    }
}
