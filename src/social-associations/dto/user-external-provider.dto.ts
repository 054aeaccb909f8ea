/** The wire shape of a social association ("User External Provider"). */
export class UserExternalProviderDto {
  user_id!: number;
  provider!: string;
  ext_id!: string;
  profile_url!: string | null;
  metadata?: Record<string, unknown> | null;
  show_in_profile!: boolean;
}
