/**
 * The demo catalogue: what a Gwangju programme officer would recognise. Data only; src/demo/seed.ts loads it.
 *
 * Real vs invented. Three testbeds are the real phase-1 facilities of the AI cluster in 첨단3지구 (Buk-gu):
 * the national AI data centre, the AI demonstration building and the large autonomous-driving simulator. They
 * are described with the public facts only; their slots and capacities are illustrative. Everything else —
 * partner and startup organisations, the other testbeds, the pilots — is invented and says so in its name
 * ("가상" / "fictional"). Every row is marked demo = true and "[데모] … (demo)" in its name; coordinates are
 * approximate.
 *
 * Ids are fixed so that loading twice inserts nothing. Business numbers use tax-office code 999, which no
 * real tax office has, so a real company signing up can never collide with a demo organisation.
 */
import { businessNumberCheckDigit } from '../auth/business-number.js';

/** Every demo account (and the demo operator, when one is created) signs in with this password. */
export const DEMO_PASSWORD = 'ax-valley-demo-2026';

/** Created only when the database has no operator user at all (see seed.ts). */
export const DEMO_OPERATOR = {
  id: 'de000b00-0000-4000-8000-000000000001',
  email: 'demo-operator@ax-valley.example',
  name: '[데모] 사업단 운영자 · Programme operator (demo)',
} as const;

/** Used only when no operator organisation exists yet; ensureOperator reuses it afterwards. */
export const DEMO_OPERATOR_ORG_ID = 'de000a00-0000-4000-8000-000000000001';

/** Slots are generated for this many weeks from the start of the current week (Asia/Seoul). */
export const DEMO_WEEKS = 6;
export const DEMO_TIME_ZONE = 'Asia/Seoul';

/** A fixed, valid 사업자등록번호 from its middle digits: 999-81-NNNN + check digit. */
function bizNo(serial: string): string {
  const nine = `99981${serial}`;
  return nine + businessNumberCheckDigit(nine);
}

/** The organisation that owns the operator's testbeds: whatever operator organisation exists. */
export const OPERATOR = 'operator' as const;

export interface DemoOrganization {
  id: string;
  name: string;
  kind: 'partner' | 'startup';
  businessNumber: string;
}

export interface DemoUser {
  id: string;
  organizationId: string;
  email: string;
  name: string;
}

/** Weekly opening hours in Asia/Seoul: on each ISO weekday (1 = Monday), a slot starting at `start` lasting `hours`. */
export interface SlotPattern {
  weekdays: number[];
  start: string;
  hours: number;
  capacity: number;
}

export interface DemoTestbed {
  id: string;
  organizationId: string;
  name: string;
  description: string;
  domains: string[];
  capabilities: string[];
  capacity: number;
  address: string;
  lat: number;
  lng: number;
  schedule: SlotPattern[];
}

type DemoPilotStatus = 'draft' | 'submitted' | 'withdrawn';

export interface DemoPilot {
  id: string;
  organizationId: string;
  title: string;
  summary: string;
  domain: string;
  subdomain: string;
  capabilities: string[];
  units: number;
  durationHours: number;
  /** The window, in days after the start of the loading week (Monday 00:00 Asia/Seoul); 7 or more keeps it in the future. */
  window: { fromDay: number; toDay: number };
  location?: { address: string; lat: number; lng: number };
  status: DemoPilotStatus;
  /**
   * A multi-stage plan, windows in days like `window`; when present the columns above are replaced by the
   * stages' envelope at loading (capabilities, units, durationHours and window above then only describe it).
   */
  stages?: DemoStage[];
  /** A funded budget (credits at creditRate 1 = unit-hours). */
  budget?: { credits: number; fundingLine: 'national' | 'city' | 'private'; note: string };
}

interface DemoStage {
  key: string;
  capabilities: string[];
  units: number;
  hours: number;
  window: { fromDay: number; toDay: number };
  sessionHours?: { min?: number; max?: number };
  after?: { stage: string; minGapHours?: number; maxGapHours?: number };
}

const ORG = {
  cloud: 'de000a00-0000-4000-8000-000000000011',
  hospital: 'de000a00-0000-4000-8000-000000000012',
  media: 'de000a00-0000-4000-8000-000000000013',
  deeproad: 'de000a00-0000-4000-8000-000000000021',
  maeum: 'de000a00-0000-4000-8000-000000000022',
  minwon: 'de000a00-0000-4000-8000-000000000023',
  sumbit: 'de000a00-0000-4000-8000-000000000024',
} as const;

export const DEMO_ORGANIZATIONS: DemoOrganization[] = [
  {
    id: ORG.cloud,
    kind: 'partner',
    businessNumber: bizNo('0001'),
    name: '[데모] 무등 클라우드텔레콤 · Mudeung Cloud & Telecom (fictional demo)',
  },
  {
    id: ORG.hospital,
    kind: 'partner',
    businessNumber: bizNo('0002'),
    name: '[데모] 빛고을 스마트병원 · Bitgoeul Smart Hospital (fictional demo)',
  },
  {
    id: ORG.media,
    kind: 'partner',
    businessNumber: bizNo('0003'),
    name: '[데모] 광주 실감미디어랩 · Gwangju Immersive Media Lab (fictional demo)',
  },
  {
    id: ORG.deeproad,
    kind: 'startup',
    businessNumber: bizNo('1001'),
    name: '[데모] 딥로드 모빌리티 · DeepRoad Mobility (fictional demo)',
  },
  {
    id: ORG.maeum,
    kind: 'startup',
    businessNumber: bizNo('1002'),
    name: '[데모] 마음잇다 AI · Maeum-itda AI (fictional demo)',
  },
  { id: ORG.minwon, kind: 'startup', businessNumber: bizNo('1003'), name: '[데모] 민원온 · MinwonOn (fictional demo)' },
  {
    id: ORG.sumbit,
    kind: 'startup',
    businessNumber: bizNo('1004'),
    name: '[데모] 숨빛환경 · Sumbit Environment (fictional demo)',
  },
];

export const DEMO_USERS: DemoUser[] = [
  {
    id: 'de000b00-0000-4000-8000-000000000011',
    organizationId: ORG.cloud,
    email: 'cloud.partner@ax-valley.example',
    name: '[데모] 김하늘 · Kim Haneul (demo)',
  },
  {
    id: 'de000b00-0000-4000-8000-000000000012',
    organizationId: ORG.hospital,
    email: 'hospital.partner@ax-valley.example',
    name: '[데모] 박서연 · Park Seoyeon (demo)',
  },
  {
    id: 'de000b00-0000-4000-8000-000000000013',
    organizationId: ORG.media,
    email: 'media.partner@ax-valley.example',
    name: '[데모] 정민호 · Jung Minho (demo)',
  },
  {
    id: 'de000b00-0000-4000-8000-000000000021',
    organizationId: ORG.deeproad,
    email: 'deeproad@ax-valley.example',
    name: '[데모] 이도현 · Lee Dohyeon (demo)',
  },
  {
    id: 'de000b00-0000-4000-8000-000000000022',
    organizationId: ORG.deeproad,
    email: 'deeproad.engineer@ax-valley.example',
    name: '[데모] 최유진 · Choi Yujin (demo)',
  },
  {
    id: 'de000b00-0000-4000-8000-000000000023',
    organizationId: ORG.maeum,
    email: 'maeumitda@ax-valley.example',
    name: '[데모] 한지우 · Han Jiwoo (demo)',
  },
  {
    id: 'de000b00-0000-4000-8000-000000000024',
    organizationId: ORG.minwon,
    email: 'minwonon@ax-valley.example',
    name: '[데모] 오세훈 · Oh Sehun (demo)',
  },
  {
    id: 'de000b00-0000-4000-8000-000000000025',
    organizationId: ORG.sumbit,
    email: 'sumbit@ax-valley.example',
    name: '[데모] 윤채원 · Yoon Chaewon (demo)',
  },
];

const WEEKDAYS = [1, 2, 3, 4, 5];
const EVERY_DAY = [1, 2, 3, 4, 5, 6, 7];

const AI_CLUSTER = '광주광역시 북구 첨단3지구 인공지능 집적단지 (AI cluster, Cheomdan district 3, Buk-gu, Gwangju)';
const ILLUSTRATIVE =
  '슬롯과 용량은 시연용 예시이며 실제 운영 일정이 아닙니다. / Slots and capacity are illustrative demo data, not the real schedule.';
const FICTIONAL = '가상의 시연용 테스트베드입니다. / A fictional testbed for demonstration.';

export const DEMO_TESTBEDS: DemoTestbed[] = [
  {
    id: 'de000c00-0000-4000-8000-000000000001',
    organizationId: OPERATOR,
    name: '[데모] 국가 AI 데이터센터 GPU 클러스터 · National AI Data Centre GPU cluster (demo)',
    description:
      '광주 북구 첨단3지구, 1단계 AI 집적단지의 국가 AI 데이터센터(약 88.5 PF). 모델 학습·추론용 GPU 노드를 하루 단위로 배정합니다. ' +
      'The national AI data centre of the phase-1 AI cluster in Cheomdan district 3, Buk-gu (about 88.5 PF); GPU nodes for training and inference, ' +
      'allocated by the day. ' +
      ILLUSTRATIVE,
    domains: ['transport-safety', 'health', 'public-admin', 'living-environment', 'culture'],
    capabilities: ['gpu-cluster', 'hpc-storage'],
    capacity: 32,
    address: AI_CLUSTER,
    lat: 35.2323,
    lng: 126.8412,
    schedule: [{ weekdays: EVERY_DAY, start: '00:00', hours: 24, capacity: 32 }],
  },
  {
    id: 'de000c00-0000-4000-8000-000000000002',
    organizationId: OPERATOR,
    name: '[데모] AI 실증동 시험 장비 (77종) · AI demonstration building test equipment, 77 kinds (demo)',
    description:
      '광주 북구 첨단3지구, 1단계 AI 집적단지의 AI 실증동: 77종의 실증 시험 장비(EMC 시험실 포함)를 벤치 단위로 배정합니다. ' +
      'The AI demonstration building of the phase-1 AI cluster in Cheomdan district 3, Buk-gu, with 77 kinds of test equipment (including an EMC ' +
      'chamber), allocated by the bench. ' +
      ILLUSTRATIVE,
    domains: ['transport-safety', 'health', 'living-environment'],
    capabilities: ['test-equipment', 'emc-chamber', 'iot-sensors', 'edge-compute'],
    capacity: 8,
    address: AI_CLUSTER,
    lat: 35.2309,
    lng: 126.8431,
    schedule: [{ weekdays: WEEKDAYS, start: '09:00', hours: 9, capacity: 8 }],
  },
  {
    id: 'de000c00-0000-4000-8000-000000000003',
    organizationId: OPERATOR,
    name: '[데모] 대형 자율주행 시뮬레이터 · Large autonomous-driving simulator (demo)',
    description:
      '광주 북구 첨단3지구, 1단계 AI 집적단지의 대형 자율주행 시뮬레이터. 콕핏 시험 장비와 함께 오전·오후 4시간 단위로 한 팀씩 사용합니다. ' +
      'The large autonomous-driving simulator of the phase-1 AI cluster in Cheomdan district 3, Buk-gu, with a cockpit test rig; one team at a time ' +
      'in 4-hour morning and afternoon sessions. ' +
      ILLUSTRATIVE,
    domains: ['transport-safety'],
    capabilities: ['driving-simulator', 'cockpit-rig'],
    capacity: 1,
    address: AI_CLUSTER,
    lat: 35.2298,
    lng: 126.8449,
    schedule: [
      { weekdays: WEEKDAYS, start: '09:00', hours: 4, capacity: 1 },
      { weekdays: WEEKDAYS, start: '14:00', hours: 4, capacity: 1 },
    ],
  },
  {
    id: 'de000c00-0000-4000-8000-000000000004',
    organizationId: ORG.cloud,
    name: '[데모·가상] 광산 자율주행 실증 도로 구간 · Gwangsan autonomous-driving test road (fictional demo)',
    description:
      '평동 산업단지 내 3.2 km 폐쇄 시험 구간. V2X 노변 장치, 라이다, 5G 특화망을 갖추고 차량 3대까지 동시 시험. ' +
      'A 3.2 km closed test section in the Pyeongdong industrial area with V2X roadside units, LiDAR and a private 5G ' +
      'network; up to three vehicles at once. ' +
      FICTIONAL,
    domains: ['transport-safety'],
    capabilities: ['test-road', 'v2x', 'lidar', '5g-network'],
    capacity: 3,
    address: '광주광역시 광산구 평동 산업단지 일원 (가상 구간 · fictional section)',
    lat: 35.1263,
    lng: 126.7608,
    schedule: [{ weekdays: WEEKDAYS, start: '10:00', hours: 6, capacity: 3 }],
  },
  {
    id: 'de000c00-0000-4000-8000-000000000005',
    organizationId: ORG.hospital,
    name: '[데모·가상] 남구 AI 시니어 돌봄 리빙랩 · Nam-gu AI senior-care living lab (fictional demo)',
    description:
      '어르신 주간 돌봄 센터와 연계한 리빙랩. 임상 IRB 지원, 웨어러블, 시민 체험단을 제공합니다. ' +
      'A living lab attached to a senior day-care centre, with clinical IRB support, wearables and a citizen panel. ' +
      FICTIONAL,
    domains: ['health'],
    capabilities: ['care-facility', 'clinical-irb', 'wearables', 'citizen-panel'],
    capacity: 4,
    address: '광주광역시 남구 봉선동 일원 (가상 시설 · fictional facility)',
    lat: 35.1268,
    lng: 126.9133,
    schedule: [{ weekdays: WEEKDAYS, start: '10:00', hours: 6, capacity: 4 }],
  },
  {
    id: 'de000c00-0000-4000-8000-000000000006',
    organizationId: ORG.hospital,
    name: '[데모·가상] 의료 AI 영상 실증실 · Medical-imaging AI lab (fictional demo)',
    description:
      '진료 시간 이후와 토요일에 개방하는 의료 영상 장비 실증실(가명 처리된 영상, IRB 승인 과제만). ' +
      'Medical imaging devices opened after clinic hours and on Saturdays (pseudonymised images, IRB-approved ' +
      'projects only). ' +
      FICTIONAL,
    domains: ['health'],
    capabilities: ['medical-imaging-device', 'clinical-irb', 'edge-compute'],
    capacity: 2,
    address: '광주광역시 북구 용봉동 일원 (가상 시설 · fictional facility)',
    lat: 35.1762,
    lng: 126.9121,
    schedule: [
      { weekdays: WEEKDAYS, start: '18:00', hours: 4, capacity: 2 },
      { weekdays: [6], start: '09:00', hours: 8, capacity: 2 },
    ],
  },
  {
    id: 'de000c00-0000-4000-8000-000000000007',
    organizationId: OPERATOR,
    name: '[데모·가상] AI 민원 행정문서 샌드박스 · Civil-service document AI sandbox (fictional demo)',
    description:
      '비식별 처리된 민원·행정 문서 말뭉치와 공공데이터를 격리된 환경에서 시험하는 샌드박스. 시민 체험단 모집 지원. ' +
      'An isolated sandbox with a de-identified corpus of petitions and administrative documents and public data; ' +
      'citizen-panel recruitment on request. ' +
      FICTIONAL,
    domains: ['public-admin'],
    capabilities: ['document-corpus', 'public-data-sandbox', 'citizen-panel'],
    capacity: 10,
    address: '광주광역시 서구 상무지구 (가상 시설 · fictional facility)',
    lat: 35.1527,
    lng: 126.8512,
    schedule: [{ weekdays: WEEKDAYS, start: '09:00', hours: 9, capacity: 10 }],
  },
  {
    id: 'de000c00-0000-4000-8000-000000000008',
    organizationId: ORG.cloud,
    name: '[데모·가상] 동구 생활환경 IoT 리빙랩 · Dong-gu air-quality & IoT living lab (fictional demo)',
    description:
      '구도심 40개 지점의 IoT 센서망과 대기 측정소, 5G·엣지 컴퓨팅. 1주 단위로 센서 채널을 배정합니다. ' +
      'An IoT sensor network at 40 points of the old town with an air-quality station, 5G and edge computing; ' +
      'sensor channels allocated by the week. ' +
      FICTIONAL,
    domains: ['living-environment'],
    capabilities: ['iot-sensors', 'air-quality-station', '5g-network', 'edge-compute'],
    capacity: 6,
    address: '광주광역시 동구 충장로 일원 (가상 시설 · fictional facility)',
    lat: 35.1476,
    lng: 126.9172,
    schedule: [{ weekdays: [1], start: '00:00', hours: 168, capacity: 6 }],
  },
  {
    id: 'de000c00-0000-4000-8000-000000000009',
    organizationId: ORG.cloud,
    name: '[데모·가상] 스마트홈·에너지 실험실 · Smart-home & energy lab (fictional demo)',
    description:
      '실거주형 스마트홈 2세대와 소규모 에너지 그리드 실험 설비. ' +
      'Two lived-in smart-home flats and a small energy-grid test rig. ' +
      FICTIONAL,
    domains: ['living-environment'],
    capabilities: ['smart-home-lab', 'energy-grid-lab', 'iot-sensors'],
    capacity: 2,
    address: '광주광역시 광산구 수완동 일원 (가상 시설 · fictional facility)',
    lat: 35.1907,
    lng: 126.8189,
    schedule: [{ weekdays: WEEKDAYS, start: '09:00', hours: 9, capacity: 2 }],
  },
  {
    id: 'de000c00-0000-4000-8000-000000000010',
    organizationId: ORG.media,
    name: '[데모·가상] 빛고을 미디어·XR 스튜디오 · Bitgoeul media & XR studio (fictional demo)',
    description:
      'LED 월 XR 스테이지와 미디어 제작 스튜디오, 생성형 미디어용 엣지 GPU. 화–토 4시간 단위로 한 팀씩. ' +
      'An LED-wall XR stage and a media production studio with edge GPUs for generative media; one team at a time, ' +
      'Tuesday to Saturday in 4-hour sessions. ' +
      FICTIONAL,
    domains: ['culture'],
    capabilities: ['media-studio', 'xr-stage', 'edge-compute'],
    capacity: 1,
    address: '광주광역시 동구 금남로 일원 (가상 시설 · fictional facility)',
    lat: 35.1465,
    lng: 126.9206,
    schedule: [
      { weekdays: [2, 3, 4, 5, 6], start: '10:00', hours: 4, capacity: 1 },
      { weekdays: [2, 3, 4, 5, 6], start: '14:00', hours: 4, capacity: 1 },
    ],
  },
];

const FICTIONAL_PILOT = '(가상의 시연용 과제 · fictional demo pilot)';

export const DEMO_PILOTS: DemoPilot[] = [
  {
    id: 'de000d00-0000-4000-8000-000000000001',
    organizationId: ORG.deeproad,
    title:
      '[데모] 딥러닝 기반 자율주행 아키텍처 시뮬레이터 검증 · Deep-learning autonomous-driving architecture: simulator validation',
    summary:
      '미래차 핵심기술 과제. 종단간 딥러닝 자율주행 아키텍처를 대형 시뮬레이터의 악천후·야간 시나리오로 검증합니다. ' +
      'Future-car core technology line: validates an end-to-end deep-learning driving architecture on the large ' +
      'simulator in bad-weather and night scenarios. ' +
      FICTIONAL_PILOT,
    domain: 'transport-safety',
    subdomain: 'autonomous-driving',
    capabilities: ['driving-simulator'],
    units: 1,
    durationHours: 4,
    window: { fromDay: 7, toDay: 35 },
    status: 'submitted',
    budget: { credits: 40, fundingLine: 'city', note: 'Demo: city AI fund, simulator time.' },
  },
  {
    id: 'de000d00-0000-4000-8000-000000000002',
    organizationId: ORG.deeproad,
    title: '[데모] 공간인지 AI 콕핏 운전자 상호작용 실증 · Space-aware AI cockpit: driver interaction study',
    summary:
      '미래차 핵심기술 과제. 실내 공간을 인지하는 AI 콕핏이 운전자 시선·제스처에 반응하는지 시뮬레이터 콕핏에서 측정합니다. ' +
      'Future-car core technology line: measures how a space-aware AI cockpit responds to driver gaze and gesture on ' +
      'the simulator cockpit rig. ' +
      FICTIONAL_PILOT,
    domain: 'transport-safety',
    subdomain: 'ai-cockpit',
    capabilities: ['driving-simulator', 'cockpit-rig', 'test-road', 'v2x'],
    units: 1,
    durationHours: 30,
    window: { fromDay: 7, toDay: 42 },
    status: 'submitted',
    // Six 4-hour simulator sessions, then a 6-hour day on the test road one day to two weeks later.
    stages: [
      {
        key: 'simulator',
        capabilities: ['driving-simulator', 'cockpit-rig'],
        units: 1,
        hours: 24,
        window: { fromDay: 7, toDay: 28 },
        sessionHours: { min: 4, max: 4 },
      },
      {
        key: 'road',
        capabilities: ['test-road', 'v2x'],
        units: 1,
        hours: 6,
        window: { fromDay: 7, toDay: 42 },
        sessionHours: { min: 6 },
        after: { stage: 'simulator', minGapHours: 24, maxGapHours: 336 },
      },
    ],
    budget: { credits: 60, fundingLine: 'national', note: 'Demo: future-car core technology line.' },
  },
  {
    id: 'de000d00-0000-4000-8000-000000000003',
    organizationId: ORG.deeproad,
    title: '[데모] 자율주행 실도로 V2X 협력 인지 시험 · Cooperative V2X perception on the test road',
    summary:
      '시뮬레이터 검증을 마친 인지 모델을 실도로 구간에서 V2X 노변 정보와 결합해 시험합니다. ' +
      'Takes the simulator-validated perception model onto the test road, fused with V2X roadside data. ' +
      FICTIONAL_PILOT,
    domain: 'transport-safety',
    subdomain: 'autonomous-driving',
    capabilities: ['test-road', 'v2x', 'lidar'],
    units: 1,
    durationHours: 6,
    window: { fromDay: 14, toDay: 42 },
    location: { address: '광주광역시 광산구 평동 산업단지 일원', lat: 35.1263, lng: 126.7608 },
    status: 'draft',
  },
  {
    id: 'de000d00-0000-4000-8000-000000000004',
    organizationId: ORG.deeproad,
    title: '[데모] 자율주행 인지 모델 대규모 학습 · Large-scale training of the driving perception model',
    summary:
      '국가 AI 데이터센터 GPU 노드 8기로 주행 영상 2,000시간 분량을 학습합니다. ' +
      'Trains the perception model on 2,000 hours of driving video with 8 GPU nodes of the national AI data centre. ' +
      FICTIONAL_PILOT,
    domain: 'transport-safety',
    subdomain: 'autonomous-driving',
    capabilities: ['gpu-cluster', 'hpc-storage'],
    units: 8,
    durationHours: 24,
    window: { fromDay: 7, toDay: 28 },
    status: 'submitted',
  },
  {
    id: 'de000d00-0000-4000-8000-000000000005',
    organizationId: ORG.maeum,
    title:
      '[데모] 다중모달 시니어 마음돌봄 영상 생성 실증 · Multimodal senior mind-care video generation: care-centre pilot',
    summary:
      '"모두의 AI" 과제. 어르신의 음성·표정·생활 기록으로 맞춤형 회상 영상을 생성하고 돌봄 센터에서 정서 변화를 관찰합니다(IRB 승인 전제). ' +
      '"AI for everyone" line: generates personalised reminiscence videos from seniors\' voice, expressions and daily ' +
      'records and observes mood changes at a care centre (subject to IRB approval). ' +
      FICTIONAL_PILOT,
    domain: 'health',
    subdomain: 'mental-health',
    capabilities: ['gpu-cluster', 'care-facility', 'clinical-irb'],
    units: 4,
    durationHours: 78,
    window: { fromDay: 7, toDay: 42 },
    location: { address: '광주광역시 남구 봉선동 일원', lat: 35.1268, lng: 126.9133 },
    status: 'submitted',
    // Two days of GPU time to generate the videos, then five 6-hour days at the care centre within a week.
    stages: [
      {
        key: 'generate',
        capabilities: ['gpu-cluster'],
        units: 4,
        hours: 48,
        window: { fromDay: 7, toDay: 21 },
        sessionHours: { min: 24, max: 24 },
      },
      {
        key: 'care-centre',
        capabilities: ['care-facility', 'clinical-irb'],
        units: 2,
        hours: 30,
        window: { fromDay: 7, toDay: 42 },
        sessionHours: { min: 6, max: 6 },
        after: { stage: 'generate', maxGapHours: 168 },
      },
    ],
    budget: { credits: 300, fundingLine: 'national', note: 'Demo: "AI for everyone" line.' },
  },
  {
    id: 'de000d00-0000-4000-8000-000000000006',
    organizationId: ORG.maeum,
    title: '[데모] 시니어 마음돌봄 영상 생성 모델 학습 · Training the senior mind-care video generation model',
    summary:
      '다중모달 영상 생성 모델을 GPU 클러스터에서 미세 조정합니다. 가명 처리된 데이터만 사용합니다. ' +
      'Fine-tunes the multimodal video generation model on the GPU cluster, on pseudonymised data only. ' +
      FICTIONAL_PILOT,
    domain: 'health',
    subdomain: 'senior-care',
    capabilities: ['gpu-cluster'],
    units: 4,
    durationHours: 24,
    window: { fromDay: 7, toDay: 21 },
    status: 'draft',
  },
  {
    id: 'de000d00-0000-4000-8000-000000000007',
    organizationId: ORG.maeum,
    title: '[데모] AI 이노스페이스 쇼케이스: 생성형 실감 미디어 · AI Innospace showcase: generative immersive media',
    summary:
      'AI 이노스페이스(교육→창업→연구→실증→사업화) 성과 공유회를 위해 생성형 AI 영상을 XR 스테이지에서 상영·시험합니다. ' +
      'For the AI Innospace (education → start-up → research → demonstration → commercialisation) showcase: ' +
      'generative AI video staged and tested on the XR stage. ' +
      FICTIONAL_PILOT,
    domain: 'culture',
    subdomain: 'media-generation',
    capabilities: ['xr-stage', 'media-studio'],
    units: 1,
    durationHours: 4,
    window: { fromDay: 14, toDay: 35 },
    status: 'draft',
  },
  {
    id: 'de000d00-0000-4000-8000-000000000008',
    organizationId: ORG.maeum,
    title: '[데모] 무등산 실감 관광 XR 가이드 · Mudeungsan immersive tourism XR guide',
    summary:
      '무등산 주상절리대를 XR로 체험하는 관광 가이드. 범위 조정으로 철회했습니다. ' +
      'An XR tourist guide to the Mudeungsan columnar joints; withdrawn to narrow the scope. ' +
      FICTIONAL_PILOT,
    domain: 'culture',
    subdomain: 'tourism',
    capabilities: ['xr-stage'],
    units: 1,
    durationHours: 4,
    window: { fromDay: 7, toDay: 28 },
    status: 'withdrawn',
  },
  {
    id: 'de000d00-0000-4000-8000-000000000009',
    organizationId: ORG.minwon,
    title: '[데모] 모두의 AI 플랫폼: 민원 문서 자동 분류 · "AI for everyone" platform: civil-petition document triage',
    summary:
      '"모두의 AI" 플랫폼 과제. 접수된 민원 문서를 담당 부서별로 자동 분류하고 답변 초안을 제안합니다(비식별 말뭉치). ' +
      '"AI for everyone" platform line: routes incoming petitions to the responsible department and drafts replies, ' +
      'on a de-identified corpus. ' +
      FICTIONAL_PILOT,
    domain: 'public-admin',
    subdomain: 'document-ai',
    capabilities: ['document-corpus', 'public-data-sandbox'],
    units: 2,
    durationHours: 8,
    window: { fromDay: 7, toDay: 42 },
    status: 'submitted',
  },
  {
    id: 'de000d00-0000-4000-8000-000000000010',
    organizationId: ORG.minwon,
    title: '[데모] AI 민원 상담 도우미 시민 체험 · AI civil-service assistant with a citizen panel',
    summary:
      '시민 체험단이 AI 민원 상담 도우미를 사용해 보는 실증. 문서 분류 과제로 통합하며 철회했습니다. ' +
      'A citizen panel tries an AI civil-service assistant; withdrawn when merged into the document-triage pilot. ' +
      FICTIONAL_PILOT,
    domain: 'public-admin',
    subdomain: 'civil-service',
    capabilities: ['citizen-panel', 'public-data-sandbox'],
    units: 1,
    durationHours: 8,
    window: { fromDay: 7, toDay: 28 },
    status: 'withdrawn',
  },
  {
    id: 'de000d00-0000-4000-8000-000000000011',
    organizationId: ORG.sumbit,
    title: '[데모] 생활권 미세먼지 예측 IoT 실증 · Neighbourhood fine-dust forecasting on the IoT living lab',
    summary:
      '골목 단위 IoT 센서와 대기 측정소 자료로 6시간 앞 미세먼지를 예측하고 주민 알림을 시험합니다. ' +
      'Forecasts fine dust six hours ahead from street-level IoT sensors and the air-quality station and trials ' +
      'resident alerts. ' +
      FICTIONAL_PILOT,
    domain: 'living-environment',
    subdomain: 'air-quality',
    capabilities: ['iot-sensors', 'air-quality-station'],
    units: 2,
    durationHours: 168,
    window: { fromDay: 7, toDay: 42 },
    location: { address: '광주광역시 동구 충장로 일원', lat: 35.1476, lng: 126.9172 },
    status: 'submitted',
  },
  {
    id: 'de000d00-0000-4000-8000-000000000012',
    organizationId: ORG.sumbit,
    title: '[데모] AI 스마트홈 에너지 절감 · AI smart-home energy saving',
    summary:
      '거주 패턴을 학습해 냉난방·조명을 조절하는 AI의 에너지 절감 효과를 실험실 세대에서 측정합니다. ' +
      'Measures the energy saved by an AI that learns occupancy patterns to control heating, cooling and lighting, ' +
      'in the lab flats. ' +
      FICTIONAL_PILOT,
    domain: 'living-environment',
    subdomain: 'energy',
    capabilities: ['smart-home-lab', 'energy-grid-lab'],
    units: 1,
    durationHours: 9,
    window: { fromDay: 14, toDay: 42 },
    status: 'draft',
  },
];
