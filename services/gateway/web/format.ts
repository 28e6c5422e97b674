// Plain helpers of the /chat page: counts, dates and form fields as the page shows and reads them.

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** A form's text field, trimmed ('' if it has none). */
export const field = (form: HTMLFormElement, name: string) => {
  const value = new FormData(form).get(name);
  return typeof value === 'string' ? value.trim() : '';
};
export const dayOf = (iso: string) => new Date(iso).toDateString();
/** Today's messages by time, older ones by date. */
export const shortWhen = (iso: string) =>
  dayOf(iso) === new Date().toDateString() ? timeOf(iso) : new Date(iso).toLocaleDateString([], { month: 'short', day: 'numeric' });
export const dayLabel = (iso: string) => {
  const day = dayOf(iso);
  if (day === new Date().toDateString()) return 'Today';
  if (day === new Date(Date.now() - 86_400_000).toDateString()) return 'Yesterday';
  return new Date(iso).toLocaleDateString([], { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
};

export const timeOf = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
