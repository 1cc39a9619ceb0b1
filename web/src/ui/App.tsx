import { useSyncExternalStore } from 'react';
import { AuthScreen } from './AuthScreen';
import { Shell } from './Shell';
import { useStore } from './hooks';

export function App() {
  const store = useStore();
  const signedIn = useSyncExternalStore(
    (fn) => store.tokens.onChange(fn),
    () => !!store.tokens.current(),
  );
  return signedIn ? <Shell /> : <AuthScreen />;
}
