/**
 * The paper's index trees: where every piece of a job is, found in one look-up and never by a scan.
 *
 * Level one, in the Jobman, maps job → subtask → holder (the Taskman's node); level two, in each Taskman,
 * maps subtask → worker. Both are this one structure with a different group and holder: it keeps each
 * group's members and who holds each, plus the reverse (holder → members), so "cancel job 7", "what did
 * node-3 hold when it died" and "which subtask was worker 2 running" are each one look-up.
 */
export class IndexTree<Group, Member, Holder> {
  private readonly groups = new Map<Group, Map<Member, Holder | undefined>>();
  private readonly byHolder = new Map<Holder, Map<Member, Group>>();
  private readonly groupOf = new Map<Member, Group>();

  /** Records `member` under `group`, held by nobody yet. */
  add(group: Group, member: Member): void {
    let members = this.groups.get(group);
    if (members === undefined) this.groups.set(group, (members = new Map()));
    if (!members.has(member)) members.set(member, undefined);
    this.groupOf.set(member, group);
  }

  /** Records that `holder` now holds `member` (moving it from any previous holder). */
  assign(member: Member, holder: Holder): void {
    const group = this.groupOf.get(member);
    if (group === undefined) throw new Error(`IndexTree.assign: ${String(member)} was never added`);
    this.release(member);
    this.groups.get(group)!.set(member, holder);
    let held = this.byHolder.get(holder);
    if (held === undefined) this.byHolder.set(holder, (held = new Map()));
    held.set(member, group);
  }

  /** `member` is held by nobody (it went back to a queue). */
  release(member: Member): void {
    const group = this.groupOf.get(member);
    if (group === undefined) return;
    const members = this.groups.get(group)!;
    const holder = members.get(member);
    if (holder === undefined) return;
    members.set(member, undefined);
    const held = this.byHolder.get(holder);
    held?.delete(member);
    if (held?.size === 0) this.byHolder.delete(holder);
  }

  /** Forgets `member` altogether (it finished). */
  remove(member: Member): void {
    const group = this.groupOf.get(member);
    if (group === undefined) return;
    this.release(member);
    const members = this.groups.get(group)!;
    members.delete(member);
    if (members.size === 0) this.groups.delete(group);
    this.groupOf.delete(member);
  }

  /** Forgets a whole group, returning what each member's holder was. */
  removeGroup(group: Group): Map<Member, Holder | undefined> {
    const members = this.groups.get(group) ?? new Map<Member, Holder | undefined>();
    const snapshot = new Map(members);
    for (const member of snapshot.keys()) this.remove(member);
    return snapshot;
  }

  holderOf(member: Member): Holder | undefined {
    const group = this.groupOf.get(member);
    return group === undefined ? undefined : this.groups.get(group)?.get(member);
  }

  groupOfMember(member: Member): Group | undefined {
    return this.groupOf.get(member);
  }

  /** Members of a group and who holds each. */
  members(group: Group): ReadonlyMap<Member, Holder | undefined> {
    return this.groups.get(group) ?? new Map();
  }

  /** What a holder holds, each with its group. */
  heldBy(holder: Holder): ReadonlyMap<Member, Group> {
    return this.byHolder.get(holder) ?? new Map();
  }

  /** Groups known, and members known in all. */
  get groupCount(): number {
    return this.groups.size;
  }
  get memberCount(): number {
    return this.groupOf.size;
  }
}
