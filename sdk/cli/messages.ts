/** Human output in Korean or English, chosen by LC_ALL, LC_MESSAGES or LANG (POSIX precedence). */
export type Lang = 'ko' | 'en';

export function languageOf(env: NodeJS.ProcessEnv = process.env): Lang {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return /^ko/i.test(locale) ? 'ko' : 'en';
}

const TEXT = {
  loggedIn: {
    en: 'Logged in as {0} ({1}). Token saved to {2}.',
    ko: '{0}({1})(으)로 로그인했습니다. 토큰을 {2}에 저장했습니다.',
  },
  passwordPrompt: { en: 'Password: ', ko: '비밀번호: ' },
  needPassword: {
    en: 'No terminal to ask for the password: pipe it in with --password-stdin.',
    ko: '비밀번호를 물을 터미널이 없습니다. --password-stdin 으로 표준 입력에서 넘겨 주세요.',
  },
  notLoggedIn: {
    en: 'Not logged in: run `axv login --email you@example.com`, or set AXV_TOKEN.',
    ko: '로그인하지 않았습니다. `axv login --email 이메일`을 실행하거나 AXV_TOKEN을 설정하세요.',
  },
  whoami: { en: '{0} <{1}>, {2} at {3} (via {4})', ko: '{0} <{1}>, {3}의 {2} ({4}로 인증)' },
  none: { en: '(none)', ko: '(없음)' },
  more: { en: 'More: --cursor {0}', ko: '다음 페이지: --cursor {0}' },
  created: { en: 'Created pilot {0} ({1}).', ko: '파일럿 {0}을(를) 만들었습니다 ({1}).' },
  status: { en: 'Pilot {0} is now {1}.', ko: '파일럿 {0}의 상태: {1}' },
  badFile: { en: 'Cannot read {0}: {1}', ko: '{0}을(를) 읽을 수 없습니다: {1}' },
  uploaded: {
    en: 'Uploaded {0}: dataset {1}, {2} bytes, sha256 {3}.',
    ko: '{0} 업로드 완료: 데이터셋 {1}, {2}바이트, sha256 {3}',
  },
  resumed: { en: 'Resumed an interrupted upload.', ko: '중단된 업로드를 이어서 올렸습니다.' },
  downloaded: {
    en: 'Saved {0} ({1} bytes, sha256 {2} verified).',
    ko: '{0}에 저장했습니다 ({1}바이트, sha256 {2} 확인).',
  },
  listenReady: {
    en: 'Forwarding events to {0}. Webhook signing secret: {1} (Ctrl-C to stop)',
    ko: '이벤트를 {0}(으)로 전달합니다. 웹훅 서명 비밀값: {1} (Ctrl-C로 중지)',
  },
  forwarded: { en: '{0}  {1}  {2} → {3}', ko: '{0}  {1}  {2} → {3}' },
  receiverDown: {
    en: 'Receiver {0} did not take event {1} ({2}); retrying in {3} s.',
    ko: '수신기 {0}가 이벤트 {1}을(를) 받지 않았습니다 ({2}). {3}초 후 다시 시도합니다.',
  },
  usage: { en: 'Usage error: {0}', ko: '사용법 오류: {0}' },
  failed: { en: 'Error: {0}', ko: '오류: {0}' },
  refused: { en: 'Refused ({0} {1}): {2}', ko: '거절됨 ({0} {1}): {2}' },
} as const;

export type MessageKey = keyof typeof TEXT;

export function t(lang: Lang, key: MessageKey, ...args: (string | number)[]): string {
  return TEXT[key][lang].replace(/\{(\d)\}/g, (_m, i: string) => String(args[Number(i)] ?? ''));
}
