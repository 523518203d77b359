// A deployment's key on the hosts. Lab names are unique in one state store only: two
// controllers with their own stores may both deploy "tutorial" onto one shared host. Every
// deployment therefore gets a unique id when it is recorded, and what the agents name after it
// (state directories, namespaces, journals) uses `<lab>.<uid>`. Labs recorded before owners
// existed have no uid and keep their bare name, so that their hosts still find them.
import { randomBytes } from 'node:crypto';

/** Characters of a deployment uid: lowercase base32 without look-alikes' ambiguity (a-z, 2-7). */
const UID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
export const UID_LENGTH = 6;
export const UID_PATTERN = /^[a-z2-7]{6}$/;

/** A fresh deployment uid (30 random bits). */
export function newDeploymentUid(random: (n: number) => Buffer = randomBytes): string {
  const bytes = random(UID_LENGTH);
  let uid = '';
  for (let i = 0; i < UID_LENGTH; i++) uid += UID_ALPHABET[bytes[i]! & 31];
  return uid;
}

/** The key the hosts know a deployment by. */
export function deploymentKey(lab: string, uid: string | undefined): string {
  return uid ? `${lab}.${uid}` : lab;
}

/** Longest deployment key: a lab name (63 characters at most) and its uid. */
export const MAX_DEPLOYMENT_KEY = 63 + 1 + UID_LENGTH;
