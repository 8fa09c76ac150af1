/**
 * Korean by default, English on a toggle (remembered in localStorage). Domain and capability labels come
 * from the server (/v1/domains, /v1/capabilities), which carries both languages; the rest is here.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export type Lang = 'ko' | 'en';

const ko = {
  appTitle: 'AX 실증밸리 운영 콘솔',
  appShort: 'AX 운영 콘솔',
  skipToMain: '본문으로 건너뛰기',
  navLabel: '주 메뉴',
  navQueue: '접수 대기열',
  navTestbeds: '테스트베드',
  navMatching: '매칭',
  navWebhooks: '웹훅',
  switchLanguage: 'English',
  switchLanguageLabel: 'Switch to English',
  signOut: '로그아웃',
  signedInAs: '{name} · {org}',
  roleOperator: '운영자',
  rolePartner: '파트너',
  roleStartup: '스타트업',

  signInTitle: '로그인',
  signInLead: '광주 AX 실증밸리 프로그램 운영자와 파트너 기관을 위한 콘솔입니다.',
  email: '이메일',
  password: '비밀번호',
  signIn: '로그인',
  signingIn: '로그인 중…',
  startupNotice: '스타트업 계정은 API로 파일럿을 관리합니다. 이 콘솔은 운영자와 파트너용입니다.',
  sessionExpired: '세션이 만료되었습니다. 다시 로그인하세요.',
  signedOut: '로그아웃했습니다.',

  loading: '불러오는 중…',
  empty: '표시할 항목이 없습니다.',
  retry: '다시 시도',
  refresh: '새로 고침',
  loadMore: '더 불러오기',
  all: '전체',
  close: '닫기',
  errorTitle: '요청을 처리하지 못했습니다',
  networkError: '서버에 연결할 수 없습니다.',
  httpStatus: 'HTTP {status}',
  fieldErrors: '입력 항목 오류',
  operatorOnly: '운영자만 볼 수 있습니다.',
  unknown: '알 수 없음',
  units: '{n} 단위',
  hours: '{n}시간',
  none: '없음',

  queueTitle: '접수 대기열',
  queueLead: '제출된 파일럿과 요구 사항을 분야·상태별로 봅니다.',
  filterDomain: '분야',
  filterStatus: '상태',
  search: '검색',
  searchPlaceholder: '제목·요약·기능 검색',
  queueCount: '{n}건',
  queueByDomain: '분야별 건수',
  colTitle: '파일럿',
  colDomain: '분야',
  colStatus: '상태',
  colRequirements: '요구 사항',
  colWindow: '희망 기간',
  colSubmitted: '제출',
  showCandidates: '후보 슬롯',
  hideCandidates: '후보 닫기',
  candidatesTitle: '{title} — 후보 슬롯',
  noCandidates: '조건에 맞는 슬롯이 없습니다.',
  candidateRules: '후보 슬롯은 다음을 모두 충족해야 합니다:',
  ruleCapabilities: '테스트베드가 다음 기능을 모두 갖춤: {caps}',
  ruleWindow: '희망 기간 {window} 안에 있음',
  ruleLength: '한 슬롯의 길이가 {hours} 이상',
  ruleUnits: '남은 단위가 {units} 이상',
  unmetStage: '{stage}: {reason}',
  unmetExcluded: '검토한 슬롯 {n}개 중 제외: {list}',
  location: '위치',

  'pilot.draft': '작성 중',
  'pilot.submitted': '제출됨',
  'pilot.matched': '매칭됨',
  'pilot.booked': '예약됨',
  'pilot.active': '진행 중',
  'pilot.completed': '완료',
  'pilot.withdrawn': '철회',

  testbedsTitle: '테스트베드',
  testbedsLead: '테스트베드별 슬롯과 예약, 가동률을 봅니다. 시간은 한국 표준시(KST)입니다.',
  chooseTestbed: '테스트베드 선택',
  noTestbeds: '등록된 테스트베드가 없습니다.',
  week: '주',
  month: '월',
  viewMode: '보기',
  previous: '이전',
  next: '다음',
  today: '오늘',
  capacity: '용량 {n}',
  slotUnits: '{booked}/{capacity} 단위 예약',
  utilization: '가동률',
  periodUtilization: '기간 가동률 {pct}',
  slotsCount: '슬롯 {n}',
  bookingsCount: '예약 {n}',
  noSlots: '이 기간에 슬롯이 없습니다.',
  booking: '예약',
  calendarOf: '{name} 일정',
  'booking.confirmed': '확정',
  'booking.cancelled': '취소됨',
  moreItems: '외 {n}건',

  utilTitle: '분야별 가동률',
  utilLead: '선택한 기간에 제공된 단위·시간 대비 예약된 단위·시간.',
  from: '시작일',
  to: '종료일 (포함)',
  show: '보기',
  chartLabel: '분야별 가동률 막대 그래프',
  colOffered: '제공 단위·시간',
  colBooked: '예약 단위·시간',
  colUtilization: '가동률',
  colSlots: '슬롯',
  colBookings: '예약',
  invalidRange: '종료일은 시작일과 같거나 뒤여야 합니다.',

  matchingTitle: '매칭',
  matchingLead: '범위를 정해 배정을 실행하고, 제안을 검토해 승인하거나 거절합니다.',
  runScope: '배정 범위',
  method: '방식',
  methodOptimal: '최적화 (MILP)',
  methodGreedy: '탐욕 (기준선)',
  anyDomain: '모든 분야',
  runAllocation: '배정 실행',
  running: '실행 중…',
  runDone: '배정 실행 완료: 제안 {n}건',
  summaryTitle: '실행 요약',
  sumPilots: '대상 파일럿',
  sumSlots: '대상 슬롯',
  sumMatched: '매칭',
  sumSessions: '세션',
  planStage: '계획 단계 {stage} (함께 승인)',
  sumCredits: '크레딧',
  sumObjective: '최적해 점수',
  sumGreedy: '탐욕 점수',
  sumBound: '상한 (LP 완화)',
  sumGap: '상한과의 차이',
  sumGain: '탐욕 대비 향상',
  sumDuration: '소요 시간',
  sumSolver: '솔버',
  objectiveChart: '최적해·탐욕·상한 비교',
  proposalsTitle: '제안',
  colSelect: '선택',
  colPilot: '파일럿',
  colTestbed: '테스트베드',
  colTime: '시간',
  colUnits: '단위',
  colScore: '점수',
  colBreakdown: '점수 구성',
  colReasons: '근거',
  colActions: '작업',
  selectAll: '모두 선택',
  selectRow: '{title} 선택',
  approve: '승인',
  reject: '거절',
  approveSelected: '선택 승인 ({n})',
  rejectSelected: '선택 거절 ({n})',
  approved: '승인했습니다.',
  rejected: '거절했습니다.',
  bulkResult: '{ok}건 처리, {failed}건 실패',
  awaitingAcceptance: '스타트업 수락 대기',
  approveHint: '스타트업이 수락하면 승인할 수 있습니다.',
  queueApprovalTitle: '승인 대기 (수락·요청된 매칭)',
  noProposals: '제안이 없습니다.',
  noRunYet: '아직 실행한 배정이 없습니다.',
  zeroMatchTitle: '매칭된 파일럿이 없습니다',
  zeroMatchWhy:
    '범위 안의 파일럿 {pilots}건과 슬롯 {slots}개 중, 어떤 파일럿의 요구 사항(기능, 남은 단위, 길이, 희망 기간)도 ' +
    '모두 충족하는 슬롯이 없었습니다. 접수 대기열에서 파일럿의 후보 슬롯을 열면 조건을 볼 수 있습니다.',
  factorNoLocation: '반영 안 함 (파일럿 위치 없음)',
  factorNotScored: '반영 안 함',
  factorDistance: '{km} km',
  bookingCreated: '예약 생성됨',
  'factor.capabilityFit': '기능 적합',
  'factor.timeFit': '시기 적합',
  'factor.location': '거리',
  'factor.loadBalance': '부하 분산',

  'match.requested': '요청됨',
  'match.proposed': '제안됨',
  'match.accepted': '수락됨',
  'match.approved': '승인됨',
  'match.rejected': '거절됨',
  'match.expired': '만료',
  'match.cancelled': '취소',

  webhooksTitle: '웹훅',
  webhooksLead: '우리 기관의 웹훅 엔드포인트와 최근 전송 내역입니다. 실패한 전송은 다시 보낼 수 있습니다.',
  endpointsTitle: '엔드포인트',
  noEndpoints: '등록된 엔드포인트가 없습니다.',
  colUrl: 'URL',
  colEvents: '이벤트',
  failingSince: '{time}부터 실패 중',
  deliveriesTitle: '최근 전송',
  deliveriesOf: '{url} 전송 내역',
  chooseEndpoint: '엔드포인트를 선택하세요.',
  noDeliveries: '전송 내역이 없습니다.',
  colEvent: '이벤트',
  colAttempts: '시도',
  colLastError: '마지막 오류',
  colCreated: '생성',
  colNext: '다음 시도',
  redeliver: '다시 보내기',
  redelivered: '다시 보내기를 예약했습니다.',
  attemptsDetail: '시도 내역',
  viewDeliveries: '전송 내역 보기',
  newEndpointTitle: '엔드포인트 추가',
  endpointUrl: 'URL',
  endpointDescription: '설명 (선택)',
  eventTypes: '받을 이벤트',
  addEndpoint: '추가',
  adding: '추가 중…',
  chooseEvents: '이벤트를 하나 이상 고르세요.',
  endpointCreated: '엔드포인트를 추가했습니다. 서명 비밀 키는 지금 한 번만 표시됩니다. 복사해 두세요.',
  signingSecret: '서명 비밀 키',
  'endpoint.enabled': '사용',
  'endpoint.disabled': '중지',
  'delivery.pending': '대기',
  'delivery.succeeded': '성공',
  'delivery.failed': '실패',
  'delivery.skipped': '건너뜀',
} as const;

export type MessageKey = keyof typeof ko;

/**
 * A message that depends on a count: one form per CLDR plural category of the language (Intl.PluralRules),
 * chosen by the variable `by` (default `n`). Korean has one form; English needs "1 unit" but "2 units".
 */
export interface PluralMessage {
  by?: string;
  zero?: string;
  one?: string;
  two?: string;
  few?: string;
  many?: string;
  other: string;
}
type Message = string | PluralMessage;

const en: Record<MessageKey, Message> = {
  appTitle: 'AX Demonstration Valley — operator console',
  appShort: 'AX console',
  skipToMain: 'Skip to main content',
  navLabel: 'Main',
  navQueue: 'Queue',
  navTestbeds: 'Testbeds',
  navMatching: 'Matching',
  navWebhooks: 'Webhooks',
  switchLanguage: '한국어',
  switchLanguageLabel: '한국어로 전환',
  signOut: 'Sign out',
  signedInAs: '{name} · {org}',
  roleOperator: 'Operator',
  rolePartner: 'Partner',
  roleStartup: 'Startup',

  signInTitle: 'Sign in',
  signInLead: "For the programme office and partner organisations of Gwangju's AX demonstration valley.",
  email: 'Email',
  password: 'Password',
  signIn: 'Sign in',
  signingIn: 'Signing in…',
  startupNotice: 'Startup accounts manage pilots through the API. This console is for operators and partners.',
  sessionExpired: 'Your session has expired. Please sign in again.',
  signedOut: 'You have signed out.',

  loading: 'Loading…',
  empty: 'Nothing to show.',
  retry: 'Try again',
  refresh: 'Refresh',
  loadMore: 'Load more',
  all: 'All',
  close: 'Close',
  errorTitle: 'The request failed',
  networkError: 'The server cannot be reached.',
  httpStatus: 'HTTP {status}',
  fieldErrors: 'Field errors',
  operatorOnly: 'Only operators can see this.',
  unknown: 'Unknown',
  units: { one: '{n} unit', other: '{n} units' },
  hours: '{n} h',
  none: 'None',

  queueTitle: 'Queue',
  queueLead: 'Submitted pilots and their requirements, by domain and status.',
  filterDomain: 'Domain',
  filterStatus: 'Status',
  search: 'Search',
  searchPlaceholder: 'Title, summary, capability',
  queueCount: { one: '{n} pilot', other: '{n} pilots' },
  queueByDomain: 'Pilots by domain',
  colTitle: 'Pilot',
  colDomain: 'Domain',
  colStatus: 'Status',
  colRequirements: 'Requirements',
  colWindow: 'Window',
  colSubmitted: 'Submitted',
  showCandidates: 'Candidates',
  hideCandidates: 'Hide candidates',
  candidatesTitle: '{title} — candidate slots',
  noCandidates: 'No slot meets the requirements.',
  candidateRules: 'A candidate slot must meet all of these:',
  ruleCapabilities: 'its testbed has every capability: {caps}',
  ruleWindow: 'it lies inside the window {window}',
  ruleLength: 'it lasts at least {hours} in one slot',
  ruleUnits: 'it has at least {units} free',
  unmetStage: '{stage}: {reason}',
  unmetExcluded: {
    one: 'Of {n} slot considered, excluded by: {list}',
    other: 'Of {n} slots considered, excluded by: {list}',
  },
  location: 'Location',

  'pilot.draft': 'Draft',
  'pilot.submitted': 'Submitted',
  'pilot.matched': 'Matched',
  'pilot.booked': 'Booked',
  'pilot.active': 'Active',
  'pilot.completed': 'Completed',
  'pilot.withdrawn': 'Withdrawn',

  testbedsTitle: 'Testbeds',
  testbedsLead: 'Slots, bookings and utilisation per testbed. Times are Korea Standard Time (KST).',
  chooseTestbed: 'Testbed',
  noTestbeds: 'No testbeds yet.',
  week: 'Week',
  month: 'Month',
  viewMode: 'View',
  previous: 'Previous',
  next: 'Next',
  today: 'Today',
  capacity: 'capacity {n}',
  slotUnits: { by: 'capacity', one: '{booked}/{capacity} unit booked', other: '{booked}/{capacity} units booked' },
  utilization: 'Utilisation',
  periodUtilization: 'Utilisation in period {pct}',
  slotsCount: { one: '{n} slot', other: '{n} slots' },
  bookingsCount: { one: '{n} booking', other: '{n} bookings' },
  noSlots: 'No slots in this period.',
  booking: 'Booking',
  calendarOf: 'Calendar of {name}',
  'booking.confirmed': 'Confirmed',
  'booking.cancelled': 'Cancelled',
  moreItems: '+{n} more',

  utilTitle: 'Utilisation by domain',
  utilLead: 'Booked unit-hours against offered unit-hours in the chosen range.',
  from: 'From',
  to: 'To (inclusive)',
  show: 'Show',
  chartLabel: 'Bar chart of utilisation by domain',
  colOffered: 'Offered unit-hours',
  colBooked: 'Booked unit-hours',
  colUtilization: 'Utilisation',
  colSlots: 'Slots',
  colBookings: 'Bookings',
  invalidRange: 'The end date must be on or after the start date.',

  matchingTitle: 'Matching',
  matchingLead: 'Run an allocation for a scope, review the proposals, approve or reject them.',
  runScope: 'Allocation scope',
  method: 'Method',
  methodOptimal: 'Optimal (MILP)',
  methodGreedy: 'Greedy (baseline)',
  anyDomain: 'All domains',
  runAllocation: 'Run allocation',
  running: 'Running…',
  runDone: { one: 'Allocation finished: {n} proposal', other: 'Allocation finished: {n} proposals' },
  summaryTitle: 'Run summary',
  sumPilots: 'Pilots in scope',
  sumSlots: 'Slots in scope',
  sumMatched: 'Matched',
  sumSessions: 'Sessions',
  planStage: 'Plan stage {stage} (approved together)',
  sumCredits: 'Credits',
  sumObjective: 'Optimal objective',
  sumGreedy: 'Greedy objective',
  sumBound: 'Upper bound (LP)',
  sumGap: 'Gap to bound',
  sumGain: 'Gain over greedy',
  sumDuration: 'Duration',
  sumSolver: 'Solver',
  objectiveChart: 'Optimal vs greedy vs bound',
  proposalsTitle: 'Proposals',
  colSelect: 'Select',
  colPilot: 'Pilot',
  colTestbed: 'Testbed',
  colTime: 'Time',
  colUnits: 'Units',
  colScore: 'Score',
  colBreakdown: 'Breakdown',
  colReasons: 'Reasons',
  colActions: 'Actions',
  selectAll: 'Select all',
  selectRow: 'Select {title}',
  approve: 'Approve',
  reject: 'Reject',
  approveSelected: 'Approve selected ({n})',
  rejectSelected: 'Reject selected ({n})',
  approved: 'Approved.',
  rejected: 'Rejected.',
  bulkResult: '{ok} done, {failed} failed',
  awaitingAcceptance: 'Awaiting startup',
  approveHint: 'Can be approved once the startup accepts.',
  queueApprovalTitle: 'Awaiting approval (accepted or requested)',
  noProposals: 'No proposals.',
  noRunYet: 'No allocation run yet.',
  zeroMatchTitle: 'No pilot was matched',
  zeroMatchWhy:
    'Pilots in scope: {pilots}; slots in scope: {slots}. No slot meets every requirement of any of these pilots ' +
    "(capabilities, free units, length, window). Open a pilot's candidates in the Queue to see what it needs.",
  factorNoLocation: 'not scored (the pilot gave no location)',
  factorNotScored: 'not scored',
  factorDistance: '{km} km',
  bookingCreated: 'Booking created',
  'factor.capabilityFit': 'Capability fit',
  'factor.timeFit': 'Time fit',
  'factor.location': 'Distance',
  'factor.loadBalance': 'Load balance',

  'match.requested': 'Requested',
  'match.proposed': 'Proposed',
  'match.accepted': 'Accepted',
  'match.approved': 'Approved',
  'match.rejected': 'Rejected',
  'match.expired': 'Expired',
  'match.cancelled': 'Cancelled',

  webhooksTitle: 'Webhooks',
  webhooksLead: "Your organisation's webhook endpoints and their recent deliveries. Failed deliveries can be sent again.",
  endpointsTitle: 'Endpoints',
  noEndpoints: 'No endpoints registered.',
  colUrl: 'URL',
  colEvents: 'Events',
  failingSince: 'failing since {time}',
  deliveriesTitle: 'Recent deliveries',
  deliveriesOf: 'Deliveries to {url}',
  chooseEndpoint: 'Choose an endpoint.',
  noDeliveries: 'No deliveries yet.',
  colEvent: 'Event',
  colAttempts: 'Attempts',
  colLastError: 'Last error',
  colCreated: 'Created',
  colNext: 'Next attempt',
  redeliver: 'Redeliver',
  redelivered: 'Redelivery scheduled.',
  attemptsDetail: 'Attempts',
  viewDeliveries: 'Show deliveries',
  newEndpointTitle: 'Add an endpoint',
  endpointUrl: 'URL',
  endpointDescription: 'Description (optional)',
  eventTypes: 'Events to receive',
  addEndpoint: 'Add',
  adding: 'Adding…',
  chooseEvents: 'Choose at least one event.',
  endpointCreated: 'Endpoint added. Its signing secret is shown only now: copy it.',
  signingSecret: 'Signing secret',
  'endpoint.enabled': 'Enabled',
  'endpoint.disabled': 'Disabled',
  'delivery.pending': 'Pending',
  'delivery.succeeded': 'Succeeded',
  'delivery.failed': 'Failed',
  'delivery.skipped': 'Skipped',
};

const dictionaries: Record<Lang, Record<MessageKey, Message>> = { ko, en };

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function translator(lang: Lang): Translate {
  const dict = dictionaries[lang];
  const rules = new Intl.PluralRules(lang === 'ko' ? 'ko-KR' : 'en-GB');
  return (key, vars) => {
    const message = dict[key] ?? key;
    let text: string;
    if (typeof message === 'string') text = message;
    else {
      const count = vars?.[message.by ?? 'n'];
      text = typeof count === 'number' ? (message[rules.select(count)] ?? message.other) : message.other;
    }
    return vars ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m)) : text;
  };
}

/** A key built at run time (a status from the server); falls back to the raw value for unknown ones. */
export function tKey(t: Translate, prefix: string, value: string): string {
  const key = `${prefix}.${value}` as MessageKey;
  const text = t(key);
  return text === key ? value : text;
}

const LANG_KEY = 'ax-console.lang';

export function initialLang(): Lang {
  const saved = localStorage.getItem(LANG_KEY);
  return saved === 'en' ? 'en' : 'ko';
}

export function saveLang(lang: Lang): void {
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
}

export interface I18n {
  lang: Lang;
  t: Translate;
  setLang: (lang: Lang) => void;
}

export const I18nContext = createContext<I18n>({ lang: 'ko', t: translator('ko'), setLang: () => {} });

export const useI18n = () => useContext(I18nContext);

/**
 * Korean titles for the problem codes an operator meets most; the server's own title and detail (English)
 * are shown otherwise, and the detail always.
 */
const PROBLEM_KO: Record<string, string> = {
  'invalid-credentials': '이메일 또는 비밀번호가 올바르지 않습니다',
  unauthorized: '로그인이 필요합니다',
  forbidden: '권한이 없습니다',
  'insufficient-scope': '권한 범위가 부족합니다',
  'not-found': '찾을 수 없습니다',
  'validation-failed': '입력값이 올바르지 않습니다',
  'invalid-transition': '현재 상태에서는 할 수 없는 작업입니다',
  'empty-scope': '배정할 파일럿이나 빈 슬롯이 없습니다',
  'match-expired': '매칭 유효 기간이 지났습니다',
  'slot-full': '슬롯에 남은 단위가 부족합니다',
  'booking-overlap': '같은 시간에 이미 예약이 있습니다',
  'endpoint-disabled': '엔드포인트가 중지되어 있습니다',
  'rate-limited': '요청이 너무 많습니다. 잠시 후 다시 시도하세요',
  retry: '동시에 처리된 요청과 충돌했습니다. 다시 시도하세요',
  internal: '서버 오류가 발생했습니다',
};

export function localProblemTitle(lang: Lang, code: string | undefined): string | undefined {
  return lang === 'ko' && code ? PROBLEM_KO[code] : undefined;
}
