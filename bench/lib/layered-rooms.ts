/**
 * `users` each a member of `perUser` rooms of `size`: layer l's rooms are consecutive slices of the
 * users shifted by 3·l, so that a user's rooms hold different neighbours. Returns each room's members
 * and each user's rooms (indices into the returned `members`).
 */
export function layeredRooms<U>(users: U[], perUser: number, size: number): { members: U[][]; ofUser: Map<U, number[]> } {
  const members: U[][] = [];
  const ofUser = new Map<U, number[]>(users.map((u) => [u, []]));
  for (let layer = 0; layer < perUser; layer++) {
    for (let start = 0; start < users.length; start += size) {
      const room = Array.from({ length: Math.min(size, users.length - start) }, (_, k) => users[(start + k + layer * 3) % users.length]!);
      for (const u of room) ofUser.get(u)!.push(members.length);
      members.push(room);
    }
  }
  return { members, ofUser };
}
