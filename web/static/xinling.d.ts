// Types of xinling.js for TypeScript users:
//   import { newInstance, type Callback } from "./xinling.js";
// The names and arguments are the Agora Signaling SDK v1.4.0's (SPEC.md §2).

export declare const SDK_VERSION: number;

export declare const Status: Readonly<{ LOGGED_OUT: 0; LOGGING_IN: 1; LOGGED_IN: 2; RECONNECTING: 3 }>;

/** The Agora codes of SPEC.md §3, by the seed's names (LOGOUT_E_KICKED: 103, …). */
export declare const Code: Readonly<Record<string, number>>;

export declare function codeName(code: number): string;

export declare const Limits: Readonly<{
  frameBytes: number; nameBytes: number; messageBytes: number; valueBytes: number; extraBytes: number;
}>;

/** A failed check: the code the server would answer and its wording. */
export interface Refusal { code: number; msg: string }

export declare function byteLength(s: string): number;
export declare function checkName(what: string, s: string): Refusal | null;
export declare function checkText(what: string, s: string, max: number): Refusal | null;
export declare function checkExtra(extra: string): Refusal | null;
export declare function checkDTMF(s: string): Refusal | null;
export declare function normalizeServer(url: string): string;

/** The callbacks; implement any subset. They run one at a time, in order. */
export interface Callback {
  onReconnecting?(nretry: number): void;
  onReconnected?(fd: number): void;
  onLoginSuccess?(uid: number, fd: number): void;
  onLogout?(ecode: number): void;
  onLoginFailed?(ecode: number): void;
  onError?(name: string, ecode: number, desc: string): void;
  onLog?(txt: string): void;
  onInvokeRet?(callID: string, err: string, resp: string): void;
  onQueryUserStatusResult?(name: string, status: string): void;
  onUserAttrResult?(account: string, name: string, value: string): void;
  onUserAttrAllResult?(account: string, value: string): void;
  onMessageSendError?(messageID: string, ecode: number): void;
  onMessageSendSuccess?(messageID: string): void;
  onMessageInstantReceive?(account: string, uid: number, msg: string): void;
  onMessageChannelReceive?(channelID: string, account: string, uid: number, msg: string): void;
  onChannelJoined?(channelID: string): void;
  onChannelJoinFailed?(channelID: string, ecode: number): void;
  onChannelLeaved?(channelID: string, ecode: number): void;
  onChannelUserJoined?(account: string, uid: number): void;
  onChannelUserLeaved?(account: string, uid: number): void;
  onChannelUserList?(accounts: string[], uids: number[]): void;
  onChannelQueryUserNumResult?(channelID: string, ecode: number, num: number): void;
  /** by: the account that made the change ("" for the server's and for a join's snapshot); beyond the seed. */
  onChannelAttrUpdated?(channelID: string, name: string, value: string, type: "update" | "del" | "clear", by: string): void;
  onInviteReceived?(channelID: string, account: string, uid: number, extra: string): void;
  onInviteReceivedByPeer?(channelID: string, account: string, uid: number): void;
  onInviteAcceptedByPeer?(channelID: string, account: string, uid: number, extra: string): void;
  onInviteRefusedByPeer?(channelID: string, account: string, uid: number, extra: string): void;
  onInviteFailed?(channelID: string, account: string, uid: number, ecode: number, extra: string): void;
  onInviteEndByPeer?(channelID: string, account: string, uid: number, extra: string): void;
  onInviteEndByMyself?(channelID: string, account: string, uid: number): void;
  onInviteMsg?(channelID: string, account: string, uid: number, msgType: string, msgData: string, extra: string): void;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  now(): number;
}

export interface Options {
  /** ws(s)://host:port[/path]; default: this page's host at /ws. */
  server?: string;
  requestTimeoutMs?: number;
  reconnectWindowMs?: number;
  /** Ping interval; 0 (default): what the server asks for. */
  heartbeatMs?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  WebSocket?: typeof WebSocket;
  timers?: Partial<Timers>;
}

export declare class Client {
  constructor(appID?: string, opts?: Options);
  destroy(): void;
  callbackSet(cb: Callback): void;
  callbackGet(): Callback;
  login(appID: string, account: string, token: string, uid: number, deviceID: string): void;
  login2(appID: string, account: string, token: string, uid: number, deviceID: string, retryTimeInS: number, retryCount: number): void;
  logout(): void;
  invoke(name: string, req: string, callID: string): void;
  queryUserStatus(account: string): void;
  setAttr(name: string, value: string): void;
  getAttr(name: string): void;
  getAttrAll(): void;
  getUserAttr(account: string, name: string): void;
  getUserAttrAll(account: string): void;
  messageInstantSend(account: string, uid: number, msg: string, msgID: string): void;
  channelJoin(channelID: string): void;
  channelLeave(channelID: string): void;
  channelQueryUserNum(channelID: string): void;
  channelSetAttr(channelID: string, name: string, value: string): void;
  channelDelAttr(channelID: string, name: string): void;
  channelClearAttr(channelID: string): void;
  messageChannelSend(channelID: string, msg: string, msgID: string): void;
  messageChannelSendForce(channelID: string, msg: string, msgID: string): void;
  channelInviteUser(channelID: string, account: string, uid: number): void;
  channelInviteUser2(channelID: string, account: string, extra: string): void;
  channelInviteDTMF(channelID: string, phoneNum: string, dtmf: string): void;
  channelInviteAccept(channelID: string, account: string, uid: number, extra: string): void;
  channelInviteRefuse(channelID: string, account: string, uid: number, extra: string): void;
  channelInviteEnd(channelID: string, account: string, uid: number): void;
  getStatus(): 0 | 1 | 2 | 3;
  getSdkVersion(): number;
  /** @deprecated in the seed */
  messageDTMFSend(uid: number, msg: string, msgID: string): void;
  /** @deprecated in the seed */
  channelInvitePhone(channelID: string, phoneNum: string, uid: number): void;
  /** @deprecated in the seed */
  channelInvitePhone2(channelID: string, phoneNum: string, sourcesNum: string): void;
  /** @deprecated in the seed */
  channelInvitePhone3(channelID: string, phoneNum: string, sourcesNum: string, extra: string): void;
  isOnline(): boolean;
}

export declare function newInstance(appID: string, opts?: Options): Client;
export declare function getInstance(appID: string, opts?: Options): Client;
