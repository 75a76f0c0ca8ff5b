export const base: number = 1;
