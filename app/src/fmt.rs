//! Dates and times in the user's time zone, through the browser's `Intl` (no date library in the
//! bundle).

use js_sys::{Array, Date, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::i18n;

/// "12 Mar 2026, 14:30" for Unix seconds `secs`, in the IANA zone `time_zone` (the browser's own
/// zone when the name is empty or unknown).
pub fn date_time(secs: i64, time_zone: &str) -> String {
    // i64 seconds to f64 milliseconds is exact for any date a meeting can have.
    #[allow(clippy::cast_precision_loss)]
    let date = Date::new(&JsValue::from_f64(secs as f64 * 1000.0));
    format_with(&date, Some(time_zone))
        .or_else(|| format_with(&date, None))
        .unwrap_or_else(|| String::from(date.to_iso_string()))
}

/// Formats with `Intl.DateTimeFormat`, or `None` when the zone is refused (the constructor
/// throws a `RangeError`, which must not become a panic).
fn format_with(date: &Date, time_zone: Option<&str>) -> Option<String> {
    let options = Object::new();
    Reflect::set(&options, &"dateStyle".into(), &"medium".into()).ok()?;
    Reflect::set(&options, &"timeStyle".into(), &"short".into()).ok()?;
    if let Some(zone) = time_zone.filter(|z| !z.is_empty()) {
        Reflect::set(&options, &"timeZone".into(), &zone.into()).ok()?;
    }
    let intl = Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
    let ctor: Function = Reflect::get(&intl, &"DateTimeFormat".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let args = Array::of2(&i18n::locale().tag().into(), &options);
    let formatter = Reflect::construct(&ctor, &args).ok()?;
    let format: Function = Reflect::get(&formatter, &"format".into())
        .ok()?
        .dyn_into()
        .ok()?;
    format.call1(&formatter, date).ok()?.as_string()
}

/// Milliseconds since the epoch, from the browser clock.
pub fn now_ms() -> f64 {
    Date::now()
}
