export const STAMP: string;
export function inputsDigest(root: string): string;
export function needsBuild(root: string): boolean;
export function recordBuild(root: string, digest: string): void;
