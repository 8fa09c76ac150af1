/**
 * The programme's five domains (5대 분야) and the controlled vocabulary of testbed capabilities. Pilots and
 * testbeds refer to these codes; they change with a release, not at run time.
 */
interface Label {
  ko: string;
  en: string;
}

interface Subdomain {
  code: string;
  label: Label;
}

export interface Domain {
  code: string;
  label: Label;
  subdomains: Subdomain[];
}

export interface Capability {
  code: string;
  label: Label;
  /** Scarce capabilities are few in the valley (the one large simulator, the data centre); matching spares them. */
  scarce: boolean;
}

const sub = (code: string, ko: string, en: string): Subdomain => ({ code, label: { ko, en } });

export const DOMAINS: Domain[] = [
  {
    code: 'transport-safety',
    label: { ko: '교통·안전', en: 'Transport & safety' },
    subdomains: [
      sub('autonomous-driving', '자율주행', 'Autonomous driving'),
      sub('ai-cockpit', '공간인지 AI 콕핏', 'Space-aware AI cockpit'),
      sub('traffic-management', '교통 관리', 'Traffic management'),
      sub('public-safety', '재난·치안 안전', 'Disaster and public safety'),
    ],
  },
  {
    code: 'health',
    label: { ko: '의료·건강', en: 'Health' },
    subdomains: [
      sub('senior-care', '시니어 돌봄', 'Senior care'),
      sub('mental-health', '마음 건강', 'Mental health'),
      sub('medical-imaging', '의료 영상', 'Medical imaging'),
      sub('digital-therapeutics', '디지털 치료제', 'Digital therapeutics'),
    ],
  },
  {
    code: 'public-admin',
    label: { ko: '공공 행정', en: 'Public administration' },
    subdomains: [
      sub('civil-service', '민원 서비스', 'Civil services'),
      sub('document-ai', '행정 문서 AI', 'Administrative document AI'),
      sub('public-data', '공공 데이터', 'Public data'),
    ],
  },
  {
    code: 'living-environment',
    label: { ko: '생활·환경', en: 'Living & environment' },
    subdomains: [
      sub('energy', '에너지', 'Energy'),
      sub('air-quality', '대기 환경', 'Air quality'),
      sub('smart-home', '스마트 홈', 'Smart home'),
      sub('agriculture', '스마트 농업', 'Smart agriculture'),
    ],
  },
  {
    code: 'culture',
    label: { ko: '문화·감성', en: 'Culture' },
    subdomains: [
      sub('media-generation', '미디어 생성', 'Media generation'),
      sub('immersive-content', '실감 콘텐츠', 'Immersive content'),
      sub('tourism', '관광', 'Tourism'),
      sub('heritage', '문화유산', 'Cultural heritage'),
    ],
  },
];

const cap = (code: string, ko: string, en: string, scarce = false): Capability => ({ code, label: { ko, en }, scarce });

export const CAPABILITIES: Capability[] = [
  cap('gpu-cluster', 'GPU 클러스터', 'GPU cluster', true),
  cap('hpc-storage', '고성능 스토리지', 'High-performance storage'),
  cap('driving-simulator', '대형 자율주행 시뮬레이터', 'Large autonomous-driving simulator', true),
  cap('test-road', '실도로 시험 구간', 'Test road section', true),
  cap('v2x', 'V2X 통신', 'V2X communication'),
  cap('lidar', '라이다 센서', 'LiDAR sensors'),
  cap('cockpit-rig', '콕핏 시험 장비', 'Cockpit test rig'),
  cap('care-facility', '돌봄 시설', 'Care facility', true),
  cap('clinical-irb', '임상 IRB 지원', 'Clinical IRB support'),
  cap('medical-imaging-device', '의료 영상 장비', 'Medical imaging device'),
  cap('wearables', '웨어러블 기기', 'Wearable devices'),
  cap('public-data-sandbox', '공공데이터 샌드박스', 'Public data sandbox'),
  cap('citizen-panel', '시민 체험단', 'Citizen panel'),
  cap('document-corpus', '행정 문서 말뭉치', 'Administrative document corpus'),
  cap('iot-sensors', 'IoT 센서망', 'IoT sensor network'),
  cap('air-quality-station', '대기 측정소', 'Air-quality station'),
  cap('smart-home-lab', '스마트홈 실험실', 'Smart-home lab'),
  cap('energy-grid-lab', '에너지 그리드 실험실', 'Energy grid lab'),
  cap('5g-network', '5G 특화망', 'Private 5G network'),
  cap('edge-compute', '엣지 컴퓨팅', 'Edge computing'),
  cap('media-studio', '미디어 스튜디오', 'Media studio'),
  cap('xr-stage', 'XR 스테이지', 'XR stage', true),
  cap('emc-chamber', 'EMC 시험실', 'EMC chamber'),
  cap('test-equipment', '실증 시험 장비', 'Demonstration test equipment'),
];

const capabilityCodes = new Set(CAPABILITIES.map((c) => c.code));

export const isCapability = (code: string) => capabilityCodes.has(code);
export const isSubdomainOf = (domain: string, subdomain: string) =>
  DOMAINS.find((d) => d.code === domain)?.subdomains.some((s) => s.code === subdomain) ?? false;
