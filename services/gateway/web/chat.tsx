// The /chat page: a chat client on @parley/client, in Preact components over the signals of
// store.ts. Every string from the server is rendered as text (JSX children), never as HTML.
import { render } from 'preact';
import { useSignal, useSignalEffect } from '@preact/signals';
import { Conversation } from './conversation.js';
import { field } from './format.js';
import { Sidebar } from './sidebar.js';
import * as store from './store.js';

function SignIn() {
  const error = useSignal('');
  const busy = useSignal(false);
  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const user = field(form, 'user');
    const name = field(form, 'name');
    busy.value = true;
    store.signIn(user, name).catch((err: Error) => {
      error.value = err.message;
      busy.value = false;
    });
  };
  return (
    <main id="signin" class="signin">
      <form id="signin-form" class="card" onSubmit={submit}>
        <h1>Parley</h1>
        <p class="muted">Sign in as a demo user (development tokens).</p>
        <label>
          User id <input name="user" required maxLength={64} autoComplete="username" placeholder="alice" />
        </label>
        <label>
          Display name <input name="name" maxLength={100} placeholder="Alice" />
        </label>
        <button type="submit" disabled={busy.value}>
          Sign in
        </button>
        <p id="signin-error" class="error" role="alert">
          {error.value}
        </p>
      </form>
    </main>
  );
}

function App() {
  useSignalEffect(() => {
    const total = store.totalUnread.value;
    document.title = total > 0 ? `(${total}) Parley` : 'Parley';
  });
  if (!store.me.value) return <SignIn />;
  return (
    <div id="app" class="app" data-view={store.activeId.value === undefined ? 'rooms' : 'conversation'}>
      <Sidebar />
      <Conversation />
    </div>
  );
}

store.resume();
render(<App />, document.getElementById('root')!);
