// The qrcode package ships no types; only the call used here is declared.
declare module 'qrcode' {
  export function toDataURL(text: string, options?: { errorCorrectionLevel?: 'L' | 'M' | 'Q' | 'H'; margin?: number; width?: number }): Promise<string>;
}
