// ID tokens from the Auth emulator, for HTTPS functions that want an admin.
import { adminApp } from '../../functions/src/platform/firestore';
import { fnRequire } from './functions-require';

const host = () => {
  const h = process.env.FIREBASE_AUTH_EMULATOR_HOST;
  if (!h) throw new Error('FIREBASE_AUTH_EMULATOR_HOST is not set: the Auth emulator is part of the suite');
  return h;
};

/** Signs up a fresh user (optionally with custom claims) and returns an ID token carrying those claims. */
export async function idToken(claims: Record<string, unknown> = {}): Promise<string> {
  const email = `user-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const password = 'not-a-real-password';
  const api = `http://${host()}/identitytoolkit.googleapis.com/v1`;
  const signUp = await fetch(`${api}/accounts:signUp?key=fake-api-key`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, returnSecureToken: true }),
  });
  const { localId } = (await signUp.json()) as { localId: string };
  if (Object.keys(claims).length) {
    const { getAuth } = fnRequire('firebase-admin/auth') as typeof import('firebase-admin/auth');
    await getAuth(adminApp()).setCustomUserClaims(localId, claims);
  }
  const signIn = await fetch(`${api}/accounts:signInWithPassword?key=fake-api-key`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, returnSecureToken: true }),
  });
  return ((await signIn.json()) as { idToken: string }).idToken;
}
