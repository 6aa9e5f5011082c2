// How the responder view words things: alert types, unit kinds, times and distances.

export const ALERT_TYPES = {
  crime: "Crime",
  medical: "Medical",
  fire: "Fire",
  gbv: "Gender-based violence",
  accident: "Accident",
  other: "Other emergency",
};

export const UNIT_KINDS = {
  police_vehicle: "Police vehicle",
  metro_police_vehicle: "Metro police vehicle",
  ambulance: "Ambulance",
  fire_engine: "Fire engine",
  security_vehicle: "Security vehicle",
  cpf_patrol: "CPF patrol",
  foot_patrol: "Foot patrol",
};

/** What a responder may record when clearing a scene (Outcome in khusela/panic/model.py;
 *  "cancelled by resident" is recorded by the system when the resident cancels). */
export const OUTCOMES = [
  ["attended", "Attended"],
  ["false_alarm", "False alarm"],
  ["no_contact", "No contact"],
  ["referred", "Referred"],
];

export const words = (value) => (value ? String(value).replaceAll("_", " ") : "");

const clock = new Intl.DateTimeFormat("en-ZA", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const shortClock = new Intl.DateTimeFormat("en-ZA", { hour: "2-digit", minute: "2-digit", hour12: false });

export const timeOf = (value) => (value ? clock.format(new Date(value)) : "");
export const hhmm = (value) => (value ? shortClock.format(new Date(value)) : "");

export function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const m = Math.max(1, Math.round(seconds / 60));
  return m === 1 ? "about 1 minute" : `about ${m} minutes`;
}

export function coordinates(lat, lon, accuracy) {
  if (lat === null || lat === undefined || lon === null || lon === undefined) return "";
  const where = `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
  return accuracy ? `${where} (±${Math.round(accuracy)} m)` : where;
}
